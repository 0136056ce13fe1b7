import type { KVStore } from '@cubby/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { NASTY_STRINGS, segmentArb } from '../arbitraries.js'
import { type Capabilities, gatedIt } from '../gate.js'
import { rejection, setup, thrown } from '../harness.js'
import { entrySize } from '../sizes.js'
import type { ConformanceTarget } from '../target.js'

/**
 * What a hostile caller may pass to `scope()`: any valid segment, plus what a valid one is not (the empty user-level
 * marker itself, look-alikes of it), in lists up to deeper than allowed.
 */
const hostileSegments = fc.array(
  fc.oneof(segmentArb, fc.constantFrom('', ' ', '\u0000', '%', '%00', '/', '//', '..', '@', '~users', 'u')),
  { maxLength: 9 },
)

/** Makes a view, or returns undefined when `scope()` refuses the segments (it must refuse with `INVALID_SCOPE`). */
function tryScope(make: () => KVStore): KVStore | undefined {
  try {
    return make()
  } catch (error) {
    expect((error as { code?: string }).code).toBe('INVALID_SCOPE')
    return undefined
  }
}

/** Whether `path` is the root, `['w']` or `['w', 'p']`: a legitimate ancestor of the plugin's users. */
const isAncestorOfUsers = (path: readonly string[]) =>
  path.length <= 2 && path.every((segment, i) => segment === ['w', 'p'][i])

/** Registers the user-namespace tests for `target`: users are a level no plugin sub-scope name can reach. */
export function usersGroup(target: ConformanceTarget, capabilities: Capabilities): void {
  describe('users', () => {
    it('a user called like a plugin sub-scope shares nothing with it (the snippet of issue 11)', async () => {
      const { cubby, backdoor } = await setup(target)
      const { store, user } = await import('@cubby/core')
      await cubby.run({ workspace: 'w', plugin: 'p', user: 'settings' }, () => user.set('theme', 'dark'))
      await cubby.run({ workspace: 'w', plugin: 'p' }, async () => {
        expect(await store.scope('settings').get('theme')).toBeUndefined()
        await store.scope('settings').set('theme', 'plugin-default')
        await store.scope('settings').drop()
      })
      expect(await backdoor.read(['w', 'p', '', 'settings'], 'theme')).toBeDefined()
      expect(await cubby.run({ workspace: 'w', plugin: 'p', user: 'settings' }, () => user.get('theme'))).toBe('dark')
      expect(await backdoor.count(['w', 'p', 'settings'])).toBe(0)
    })

    it('no plugin sub-scope, cubby-level scope or root view reads, counts, clears or drops user data (property)', async () => {
      const { cubby, backdoor } = await setup(target)
      await fc.assert(
        fc.asyncProperty(segmentArb, hostileSegments, segmentArb, async (id, segments, key) => {
          const { store, user } = cubby.stores({ workspace: 'w', plugin: 'p', user: id })
          const userPath = ['w', 'p', '', id]
          try {
            await user!.set(key, 'U')
            await user!.scope('child').set(key, 'UC')
            const views = [
              tryScope(() => store.scope(...segments)),
              tryScope(() => cubby.scope('w', 'p', ...segments)),
              tryScope(() => cubby.scope(...segments)),
            ]
            for (const view of views) {
              if (!view) continue
              expect(view.path).not.toContain('')
              expect(await view.get(key)).toBeUndefined()
              expect(await view.has(key)).toBe(false)
              expect((await view.list()).entries).toEqual([])
              expect((await view.scopes()).names).not.toContain('')
              expect(await view.clear()).toBe(0)
              if (isAncestorOfUsers(view.path)) continue // their usage and drop() cover users by design
              if (capabilities.quotas) expect(await view.usage()).toEqual({ keys: 0, bytes: 0 })
              await view.drop()
            }
            expect(await backdoor.count(userPath)).toBe(1)
            expect(await backdoor.read(userPath, key)).toBeDefined()
            expect(await user!.get(key)).toBe('U')
            expect(await user!.scope('child').get(key)).toBe('UC')
            expect((await store.users()).ids).toEqual([id])
          } finally {
            await cubby.scope().drop()
          }
        }),
        { numRuns: 60 },
      )
    })

    it('no user reads or changes another user’s data or the plugin’s sub-scopes (property)', async () => {
      const { cubby, backdoor } = await setup(target)
      await fc.assert(
        fc.asyncProperty(segmentArb, segmentArb, hostileSegments, segmentArb, async (id, otherId, segments, key) => {
          fc.pre(id !== otherId)
          const { store, user } = cubby.stores({ workspace: 'w', plugin: 'p', user: id })
          const other = store.user(otherId)
          try {
            await store.set(key, 'P')
            await other.set(key, 'O')
            const sub = segments.length === 0 ? undefined : tryScope(() => store.scope(...segments))
            if (sub) await sub.set(key, 'PS')
            const views = [user!, tryScope(() => user!.scope(...segments))]
            for (const view of views) {
              if (!view) continue
              expect(await view.get(key)).toBeUndefined()
              expect(await view.has(key)).toBe(false)
              expect((await view.list()).entries).toEqual([])
              if (capabilities.quotas) expect(await view.usage()).toEqual({ keys: 0, bytes: 0 })
              expect(await view.clear()).toBe(0)
              await view.drop()
            }
            expect(await other.get(key)).toBe('O')
            expect(await backdoor.read(['w', 'p', '', otherId], key)).toBeDefined()
            expect(await store.get(key)).toBe('P')
            if (sub) {
              expect(await sub.get(key)).toBe('PS')
              expect(await backdoor.count(sub.path)).toBe(1)
            }
            expect((await store.users()).ids).toEqual([otherId])
          } finally {
            await cubby.scope().drop()
          }
        }),
        { numRuns: 50 },
      )
    })

    it('users() pages the ids of users holding data; scopes() lists only the plugin’s own sub-scopes', async () => {
      const { cubby, handle, clock } = await setup(target)
      const plugin = cubby.scope('w', 'p')
      const ids = ['😀', '\uE000', 'bob', 'ann', 'a', '/', '%', ...NASTY_STRINGS.slice(0, 6)]
      for (const id of ids) await plugin.user(id).set('k', id)
      await plugin.user('only-child').scope('deep').set('k', 1) // data only below the user's scope
      await plugin.user('gone').set('k', 1)
      await plugin.user('gone').delete('k')
      await plugin.scope('cache').set('k', 1)
      await plugin.scope('ann').set('k', 'a sub-scope named like a user')
      const expected = [...new Set([...ids, 'only-child'])].sort((a, b) =>
        Buffer.compare(Buffer.from(a), Buffer.from(b)),
      )
      const seen: string[] = []
      let cursor: string | undefined
      do {
        const page = await plugin.users(cursor === undefined ? { limit: 3 } : { limit: 3, cursor })
        expect(page.ids.length).toBe(page.cursor === undefined ? page.ids.length : 3)
        seen.push(...page.ids)
        cursor = page.cursor
      } while (cursor !== undefined)
      expect(seen).toEqual(expected)
      expect((await plugin.scopes()).names).toEqual(['ann', 'cache'])
      // Below core, the backend lists the user level as the child `''` (first in byte order): export and migrate walk
      // the tree through it, so a backend that skipped it would silently leave every user behind.
      expect(await handle.backend.scopes(['w', 'p'], { limit: 10, now: clock.now() })).toEqual(['', 'ann', 'cache'])
      expect(await handle.backend.scopes(['w', 'p'], { after: '', limit: 10, now: clock.now() })).toEqual([
        'ann',
        'cache',
      ])
      // The hidden user level must not shorten or end a page early.
      expect(await plugin.scopes({ limit: 1 })).toMatchObject({ names: ['ann'], cursor: expect.any(String) })
      const next = await plugin.scopes({ limit: 1, cursor: (await plugin.scopes({ limit: 1 })).cursor! })
      expect(next).toEqual({ names: ['cache'] })
      expect((await cubby.scope('w').scopes()).names).toEqual(['p'])
      const foreign = (await plugin.scopes({ limit: 1 })).cursor!
      expect((await rejection(plugin.users({ cursor: foreign }))).code).toBe('INVALID_CONFIG')
      expect((await rejection(plugin.users({ limit: 0 }))).code).toBe('INVALID_CONFIG')
      expect((await rejection(plugin.users({ limt: 1 } as never))).code).toBe('INVALID_CONFIG')
      await plugin.drop() // a plugin's uninstall removes its users too
      expect((await plugin.users()).ids).toEqual([])
    })

    gatedIt(capabilities, ['ttl'], 'users() and scopes() forget a user whose data has all expired', async () => {
      const { cubby, clock } = await setup(target)
      const plugin = cubby.scope('w', 'p')
      await plugin.user('brief').set('k', 1, { ttl: 1000 })
      await plugin.user('stays').set('k', 1)
      await plugin.scope('sub').set('k', 1, { ttl: 1000 })
      expect((await plugin.users()).ids).toEqual(['brief', 'stays'])
      clock.advance(1001)
      expect((await plugin.users()).ids).toEqual(['stays'])
      expect((await plugin.scopes()).names).toEqual([])
    })

    it('user() and users() work only on a plugin’s scope, and check the id', async () => {
      const { cubby } = await setup(target)
      for (const view of [
        cubby.scope(),
        cubby.scope('w'),
        cubby.scope('w', 'p', 'x'),
        cubby.scope('w', 'p').user('u'),
      ]) {
        expect(thrown(() => view.user('u')).code).toBe('INVALID_SCOPE')
        expect((await rejection(view.users())).code).toBe('INVALID_SCOPE')
      }
      for (const bad of ['', '\uD800', 7, null, 'x'.repeat(1025)]) {
        expect(thrown(() => cubby.scope('w', 'p').user(bad as string)).code).toBe('INVALID_SCOPE')
        expect(thrown(() => cubby.stores({ plugin: 'p', user: bad as string })).code).toBe('INVALID_SCOPE')
      }
      const { store } = await import('@cubby/core')
      await cubby.run({ workspace: 'w', plugin: 'p' }, async () => {
        await store.user('ann').set('k', 1)
        expect((await store.users()).ids).toEqual(['ann'])
      })
      expect(await cubby.stores({ workspace: 'w', plugin: 'p', user: 'ann' }).user!.get('k')).toBe(1)
    })

    it('a user’s scope takes child scopes down to 8 visible segments, the user level not counted', async () => {
      const { cubby } = await setup(target)
      const user = cubby.scope('w', 'p').user('u')
      const deep = user.scope('4', '5', '6', '7', '8')
      await deep.set('k', 'deep')
      expect(deep.path).toEqual(['w', 'p', '', 'u', '4', '5', '6', '7', '8'])
      expect(await deep.get('k')).toBe('deep')
      expect(thrown(() => deep.scope('9')).code).toBe('INVALID_SCOPE')
      expect((await user.scope('4').scopes()).names).toEqual(['5'])
    })

    gatedIt(capabilities, ['quotas'], 'usage: a plugin counts its users, a user only itself', async () => {
      const { cubby } = await setup(target)
      const plugin = cubby.scope('w', 'p')
      await plugin.user('u').set('k', 'v')
      await plugin.scope('u').set('k', 'v')
      const one = { keys: 1, bytes: entrySize('k', 'v') }
      expect(await plugin.user('u').usage()).toEqual(one)
      expect(await plugin.scope('u').usage()).toEqual(one)
      expect(await plugin.usage()).toEqual({ keys: 2, bytes: 2 * one.bytes })
    })

    gatedIt(capabilities, ['quotas'], 'quotas.user caps users, never a plugin sub-scope named like one', async () => {
      const { cubby } = await setup(target, { quotas: { user: { maxKeys: 1 }, plugin: { maxKeys: 3 } } })
      const plugin = cubby.scope('w', 'p')
      await plugin.user('u').set('a', 1)
      expect(await rejection(plugin.user('u').set('b', 1))).toMatchObject({
        code: 'QUOTA_EXCEEDED',
        scope: ['w', 'p', '', 'u'],
      })
      await plugin.scope('u').setMany({ a: 1, b: 1 }) // not a user: only the plugin cap applies
      expect(await rejection(plugin.user('v').set('a', 1))).toMatchObject({ scope: ['w', 'p'], limit: 3 })
    })

    gatedIt(capabilities, ['watch'], 'a plugin’s watch never sees a user’s writes, nor the reverse', async () => {
      const { cubby } = await setup(target)
      const plugin = cubby.scope('w', 'p')
      const onPlugin = plugin.scope('u').watch()
      const onUser = plugin.user('u').watch()
      await Promise.all([onPlugin.ready, onUser.ready])
      await plugin.user('u').set('from-user', 1)
      await plugin.scope('u').set('from-plugin', 1)
      const first = async (watch: AsyncIterable<{ key: string }>) => {
        for await (const event of watch) return event.key
        return undefined
      }
      expect(await first(onPlugin)).toBe('from-plugin')
      expect(await first(onUser)).toBe('from-user')
      onPlugin.close()
      onUser.close()
    })
  })
}
