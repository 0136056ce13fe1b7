import { currentContext, store, user } from '@cubby/core'
import { describe, expect, it } from 'vitest'
import { rejection, setup, thrown } from '../harness.js'
import type { ConformanceTarget } from '../target.js'

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Registers the ambient context tests for `target`. */
export function contextGroup(target: ConformanceTarget): void {
  describe('ambient context', () => {
    it('stores() gives the plugin scope and the user scope below it', async () => {
      const { cubby } = await setup(target)
      const both = cubby.stores({ workspace: 'acme', plugin: 'todo', user: 'ann' })
      expect(both.store.path).toEqual(['acme', 'todo'])
      expect(both.user?.path).toEqual(['acme', 'todo', '', 'ann'])
      const noUser = cubby.stores({ plugin: 'todo' })
      expect(noUser.store.path).toEqual(['default', 'todo'])
      expect(noUser.user).toBeUndefined()
      expect(thrown(() => cubby.stores({ plugin: '' })).code).toBe('INVALID_SCOPE')
      expect(thrown(() => cubby.stores({ plugin: 'p', user: '\uD800' })).code).toBe('INVALID_SCOPE')
      expect(thrown(() => cubby.stores({ workspace: null as never, plugin: 'p' })).code).toBe('INVALID_SCOPE')
      // A misspelt field must not silently put a user's data in the plugin's shared scope.
      const typo = thrown(() => cubby.stores({ plugin: 'p', usr: 'ann' } as never))
      expect(typo).toMatchObject({ code: 'INVALID_CONFIG', field: 'context.usr' })
      expect(thrown(() => cubby.run({ plugin: 'p', usr: 'ann' } as never, () => 1)).code).toBe('INVALID_CONFIG')
    })

    it('binds store and user inside run(), and refuses them outside', async () => {
      const { cubby } = await setup(target)
      expect((await rejection(store.get('k'))).code).toBe('NO_CONTEXT')
      expect((await rejection(user.set('k', 1))).code).toBe('NO_CONTEXT')
      expect(thrown(() => store.scope('x')).code).toBe('NO_CONTEXT')
      expect(currentContext()).toBeUndefined()
      const result = await cubby.run({ workspace: 'w', plugin: 'p', user: 'u' }, async () => {
        await store.set('shared', 1)
        await user.set('mine', 2)
        expect(currentContext()).toEqual({ workspace: 'w', plugin: 'p', user: 'u' })
        expect(user.path).toEqual(['w', 'p', '', 'u'])
        return 'done'
      })
      expect(result).toBe('done')
      expect(await cubby.scope('w', 'p').get('shared')).toBe(1)
      expect(await cubby.scope('w', 'p').user('u').get('mine')).toBe(2)
      expect(await cubby.scope('w', 'p', 'u').get('mine')).toBeUndefined()
      await cubby.run({ plugin: 'p' }, async () => {
        expect(store.path).toEqual(['default', 'p'])
        const error = await rejection(user.get('mine'))
        expect(error.code).toBe('NO_CONTEXT')
        expect(error.message).toMatch(/no user/i)
      })
      expect(cubby.run({ plugin: 'p' }, () => 42)).toBe(42)
    })

    it('never leaks context between 60 interleaved concurrent runs (awaits, timers, nested runs)', async () => {
      const { cubby } = await setup(target)
      const runOne = (i: number) =>
        cubby.run({ workspace: `w${i % 3}`, plugin: `p${i % 5}`, user: `u${i}` }, async () => {
          const me = `u${i}`
          await pause(Math.random() * 5)
          await user.set('who', me)
          // Read the context inside a timer callback; assert after the await, so a mismatch fails this test.
          const inTimer = await new Promise<string | undefined>((resolve) =>
            setTimeout(() => resolve(currentContext()?.user), Math.random() * 5),
          )
          expect(inTimer).toBe(me)
          await store.incr('visits')
          const inner = await cubby.run({ plugin: 'inner', user: `${me}-inner` }, async () => {
            await pause(1)
            return user.path
          })
          expect(inner).toEqual(['default', 'inner', '', `${me}-inner`])
          expect(currentContext()?.user).toBe(me)
          await Promise.all([pause(Math.random() * 3), user.get('who')])
          expect(await user.get('who')).toBe(me)
          expect(user.path).toEqual([`w${i % 3}`, `p${i % 5}`, '', me])
          return me
        })
      const results = await Promise.all(Array.from({ length: 60 }, (_, i) => runOne(i)))
      expect(results).toEqual(Array.from({ length: 60 }, (_, i) => `u${i}`))
      let visits = 0
      for (let w = 0; w < 3; w++) {
        for (let p = 0; p < 5; p++) visits += (await cubby.scope(`w${w}`, `p${p}`).get<number>('visits')) ?? 0
      }
      expect(visits).toBe(60)
      expect(currentContext()).toBeUndefined()
    })

    it('binds entries() and keys() to the run they were created in, like every other call', async () => {
      const { cubby } = await setup(target)
      await cubby.run({ plugin: 'A' }, () => store.set('secretA', 1))
      await cubby.run({ plugin: 'B' }, () => store.set('secretB', 1))
      const keys = cubby.run({ plugin: 'A' }, () => store.keys())
      const entries = cubby.run({ plugin: 'A' }, () => store.entries())
      const inB = await cubby.run({ plugin: 'B' }, async () => {
        const seen: string[] = []
        for await (const key of keys) seen.push(key)
        for await (const entry of entries) seen.push(entry.key)
        return seen
      })
      expect(inB).toEqual(['secretA', 'secretA'])
      const outside: string[] = []
      for await (const key of cubby.run({ plugin: 'A' }, () => store.keys())) outside.push(key)
      expect(outside).toEqual(['secretA'])
      const unbound = store.keys() // created outside any run: rejects on first next()
      expect((await rejection(unbound.next())).code).toBe('NO_CONTEXT')
    })

    it('keeps plugins and workspaces apart', async () => {
      const { cubby } = await setup(target)
      await cubby.run({ workspace: 'a', plugin: 'x' }, () => store.set('k', 'a/x'))
      await cubby.run({ workspace: 'b', plugin: 'x' }, () => store.set('k', 'b/x'))
      await cubby.run({ workspace: 'a', plugin: 'y' }, async () => {
        expect(await store.get('k')).toBeUndefined()
        expect((await store.list()).entries).toEqual([])
      })
      expect(await cubby.run({ workspace: 'a', plugin: 'x' }, () => store.get('k'))).toBe('a/x')
    })
  })
}
