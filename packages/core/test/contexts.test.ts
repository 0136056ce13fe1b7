import { describe, expect, it } from 'vitest'
import { currentContext, openCubby, store, user } from '../src/index.js'
import { rawScope } from '../src/raw/index.js'
import { ChildContexts, ContextCache } from '../src/store/context-cache.js'

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

  it('let views made per request share their child scopes, still refusing bad names', async () => {
    const cubby = await openCubby({ url: 'memory:' })
    const plugin = cubby.scope('w', 'p')
    const a = plugin.scope('sessions')
    await a.set('k', 1)
    const b = cubby.scope('w', 'p').scope('sessions')
    expect(a).not.toBe(b)
    expect(rawScope(b).path).toBe(rawScope(a).path)
    expect(await b.get('k')).toBe(1)
    expect(rawScope(plugin.user('u')).path).toBe(
      rawScope(cubby.stores({ workspace: 'w', plugin: 'p', user: 'u' }).user!).path,
    )
    expect(plugin.scope('sessions', 'x').path).toEqual(['w', 'p', 'sessions', 'x'])
    expect((await failure(() => plugin.scope(''))).code).toBe('INVALID_SCOPE')
    expect((await failure(() => plugin.scope(1 as never))).code).toBe('INVALID_SCOPE')
    expect((await failure(() => a.user('u'))).code).toBe('INVALID_SCOPE') // not a plugin scope
    expect((await failure(() => plugin.user(''))).code).toBe('INVALID_SCOPE')
    const deep = ['a', 'b', 'c', 'd', 'e', 'f'].reduce((view, name) => view.scope(name), plugin)
    expect(deep.path).toHaveLength(8)
    expect((await failure(() => deep.scope('g'))).code).toBe('INVALID_SCOPE') // too deep, every time
    expect((await failure(() => deep.scope('g'))).code).toBe('INVALID_SCOPE')
    await cubby.close()
  })

  it('keep at most their bound of child contexts', () => {
    const children = new ChildContexts(2)
    const parent = {} as never
    children.add(parent, 'a', {} as never)
    children.add(parent, 'b', {} as never)
    children.add(parent, 'c', {} as never)
    expect(children.get(parent, 'a')).toBeUndefined()
    expect(children.get(parent, 'c')).toBeDefined()
  })
})
