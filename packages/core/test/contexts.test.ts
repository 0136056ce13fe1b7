import { describe, expect, it } from 'vitest'
import { currentContext, openCubby, store, user } from '../src/index.js'
import { rawScope } from '../src/raw/index.js'
import { ContextCache } from '../src/store/context-cache.js'

/** The error a promise rejected with, or `fn` threw. */
async function failure(fn: () => unknown): Promise<Error & { code?: string }> {
  try {
    await fn()
  } catch (error) {
    return error as Error & { code?: string }
  }
  throw new Error('expected a failure')
}

describe('stores() and run() resolve each context once', () => {
  it('give fresh views of the same scopes, sharing the plugin scope between users', async () => {
    const cubby = await openCubby({ url: 'memory:' })
    const a = cubby.stores({ plugin: 'p', user: 'u' })
    const b = cubby.stores({ plugin: 'p', user: 'u' })
    expect(a.store).not.toBe(b.store)
    await a.user!.set('k', 1)
    expect(await b.user!.get('k')).toBe(1)
    expect(b.user!.path).toEqual(['default', 'p', '', 'u'])
    const other = cubby.stores({ plugin: 'p', user: 'v' })
    expect(rawScope(other.store).path).toBe(rawScope(a.store).path) // one context, one path for backends' caches
    expect(await other.user!.get('k')).toBeUndefined()
    expect(cubby.stores({ plugin: 'p' }).user).toBeUndefined()
    expect(cubby.run({ workspace: 'w', plugin: 'p', user: 'u' }, () => currentContext())).toEqual({
      workspace: 'w',
      plugin: 'p',
      user: 'u',
    })
    expect(cubby.run({ plugin: 'p' }, () => currentContext())).toEqual({ workspace: 'default', plugin: 'p' })
    await cubby.run({ plugin: 'p', user: 'u' }, async () => {
      expect(await user.get('k')).toBe(1)
      expect(await store.get('k', 'none')).toBe('none')
    })
    await cubby.close()
  })

  it('still refuses bad names and fields after the same names were resolved', async () => {
    const cubby = await openCubby({ url: 'memory:' })
    cubby.stores({ plugin: 'p', user: 'u' })
    expect((await failure(() => cubby.stores({ plugin: 'p', user: '' }))).code).toBe('INVALID_SCOPE')
    expect((await failure(() => cubby.stores({ plugin: 'p', user: 5 as never }))).code).toBe('INVALID_SCOPE')
    expect((await failure(() => cubby.stores({ plugin: 'p', usr: 'u' } as never))).code).toBe('INVALID_CONFIG')
    expect((await failure(() => cubby.run({ workspace: null as never, plugin: 'p' }, () => 1))).code).toBe(
      'INVALID_SCOPE',
    )
    await cubby.close()
  })

  it('keeps at most its bound of contexts', () => {
    const cache = new ContextCache(2)
    const entry = (user: string) => ({ workspace: 'w', plugin: 'p', user, store: {}, userStore: {} }) as never
    cache.add(entry('a'))
    cache.add(entry('b'))
    expect(cache.get('w', 'p', 'a')).toBeDefined()
    cache.add(entry('c')) // full: starts over
    expect(cache.get('w', 'p', 'a')).toBeUndefined()
    expect(cache.get('w', 'p', 'c')).toBeDefined()
  })
})
