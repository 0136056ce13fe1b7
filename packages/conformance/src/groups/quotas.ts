import { describe, expect, it } from 'vitest'
import { rejection, setup } from '../harness.js'
import { entrySize } from '../sizes.js'
import type { ConformanceTarget } from '../target.js'

/** Registers the quotas tests for `target`. */
export function quotasGroup(target: ConformanceTarget, minQuotaDepth: number): void {
  /** Path of an explicitly capped scope at the shallowest depth the backend supports (at least 1). */
  const capped = ['cap', 'ped', 'scope', 'path'].slice(0, Math.max(1, minQuotaDepth))

  describe('quotas', () => {
    it('caps a user’s keys; overwrites and deletes behave; an overrun writes nothing', async () => {
      const { cubby, backdoor } = await setup(target, { quotas: { user: { maxKeys: 3 } } })
      const { user } = cubby.stores({ workspace: 'w', plugin: 'p', user: 'ann' })
      await user!.setMany({ a: 1, b: 2, c: 3 })
      const error = await rejection(user!.set('d', 4))
      expect(error.code).toBe('QUOTA_EXCEEDED')
      expect(error.name).toBe('QuotaExceededError')
      expect(error).toMatchObject({ dimension: 'keys', limit: 3, used: 3, requested: 1, scope: ['w', 'p', '', 'ann'] })
      expect(error.message).toMatch(/quota/i)
      expect(await backdoor.read(['w', 'p', '', 'ann'], 'd')).toBeUndefined()
      await user!.set('a', 'overwrite is not a new key')
      await user!.delete('b')
      await user!.set('d', 4)
      expect(await user!.usage()).toMatchObject({ keys: 3 })
      const other = cubby.stores({ workspace: 'w', plugin: 'p', user: 'bob' }).user!
      await other.setMany({ a: 1, b: 2, c: 3 }) // each user has their own cap
    })

    it('counts bytes exactly: key bytes + encoded value bytes, overwrites by difference', async () => {
      const cap = entrySize('k1', 'x'.repeat(50)) + entrySize('k2', 'y'.repeat(50))
      const { cubby } = await setup(target, { quotas: { plugin: { maxBytes: cap } } })
      const { store } = cubby.stores({ plugin: 'bytes' })
      await store.set('k1', 'x'.repeat(50))
      await store.set('k2', 'y'.repeat(50))
      expect(await store.usage()).toEqual({ keys: 2, bytes: cap })
      const error = await rejection(store.set('k3', ''))
      expect(error).toMatchObject({
        code: 'QUOTA_EXCEEDED',
        dimension: 'bytes',
        limit: cap,
        used: cap,
        requested: entrySize('k3', ''),
      })
      const grow = await rejection(store.set('k1', 'x'.repeat(51)))
      expect(grow).toMatchObject({ used: cap, requested: 1 })
      await store.set('k1', 'x'.repeat(10)) // shrinking always fits
      await store.set('k2', 'y'.repeat(90)) // ...and frees room for growth elsewhere
      expect(await store.usage()).toEqual({ keys: 2, bytes: cap })
    })

    it('caps a plugin across its users and child scopes', async () => {
      const { cubby } = await setup(target, { quotas: { plugin: { maxKeys: 4 } } })
      const { store, user: ann } = cubby.stores({ workspace: 'w', plugin: 'shared', user: 'ann' })
      const bob = cubby.stores({ workspace: 'w', plugin: 'shared', user: 'bob' }).user!
      await store.set('a', 1)
      await store.scope('cache').set('b', 1)
      await ann!.set('c', 1)
      await bob.set('d', 1)
      expect((await rejection(bob.set('e', 1))).code).toBe('QUOTA_EXCEEDED')
      expect((await rejection(store.set('e', 1))).code).toBe('QUOTA_EXCEEDED')
      expect(await store.usage()).toEqual(expect.objectContaining({ keys: 4 }))
      await cubby.stores({ workspace: 'w', plugin: 'other' }).store.set('e', 1) // another plugin has its own cap
      await cubby.stores({ workspace: 'v', plugin: 'shared' }).store.set('e', 1) // so does another workspace
    })

    it('caps any scope listed in quotas.scopes, including its descendants', async () => {
      const { cubby } = await setup(target, { quotas: { scopes: [{ path: capped, maxKeys: 2 }] } })
      const scope = cubby.scope(...capped)
      await scope.set('a', 1)
      await scope.scope('child').set('b', 1)
      expect((await rejection(scope.scope('child', 'grand').set('c', 1))).code).toBe('QUOTA_EXCEEDED')
      await cubby.scope(...capped.slice(0, -1), 'sibling').set('c', 1)
    })

    it('rejects a whole setMany or atomic batch that would overrun, writing nothing', async () => {
      const { cubby, backdoor } = await setup(target, { quotas: { user: { maxKeys: 3 } } })
      const { user } = cubby.stores({ plugin: 'p', user: 'u' })
      await user!.set('a', 1)
      expect((await rejection(user!.setMany({ b: 1, c: 1, d: 1 }))).code).toBe('QUOTA_EXCEEDED')
      expect((await rejection(user!.atomic().set('b', 1).set('c', 1).set('d', 1).commit())).code).toBe('QUOTA_EXCEEDED')
      expect(await backdoor.count(['default', 'p', '', 'u'])).toBe(1)
      await user!.atomic().set('b', 1).set('c', 1).delete('a').set('d', 1).commit() // net +2 fits
    })

    it('counts incr growth', async () => {
      const { cubby } = await setup(target, { quotas: { user: { maxBytes: entrySize('n', 9) } } })
      const { user } = cubby.stores({ plugin: 'p', user: 'u' })
      await user!.set('n', 9)
      expect((await rejection(user!.incr('n'))).code).toBe('QUOTA_EXCEEDED')
      expect(await user!.get('n')).toBe(9)
      expect(await user!.incr('n', -1)).toBe(8)
    })

    it('frees space on delete, clear, drop and reclaimed expiry', async () => {
      const { cubby, clock } = await setup(target, { quotas: { plugin: { maxKeys: 2 } } })
      const { store, user } = cubby.stores({ plugin: 'free', user: 'u' })
      await store.set('a', 1)
      await user!.set('b', 1)
      expect((await rejection(store.set('c', 1))).code).toBe('QUOTA_EXCEEDED')
      await user!.drop()
      await store.set('c', 1)
      await store.clear()
      await store.setMany({ d: 1 })
      await store.set('e', 1, { ttl: 100 })
      expect((await rejection(store.set('f', 1))).code).toBe('QUOTA_EXCEEDED')
      clock.advance(100)
      await store.set('f', 1) // the expired key no longer counts
      expect(await store.usage()).toEqual(expect.objectContaining({ keys: 2 }))
    })

    it('always allows writes that do not grow usage, even over a lowered quota', async () => {
      const env = await setup(target, { quotas: { user: { maxKeys: 5 } } })
      const { user } = env.cubby.stores({ plugin: 'p', user: 'u' })
      await user!.setMany({ a: 1, b: 2, c: 3, d: 4, e: 5 })
      const strict = await env.reopen({ quotas: { user: { maxKeys: 2 } } })
      const tight = strict.stores({ plugin: 'p', user: 'u' }).user!
      expect((await rejection(tight.set('f', 1))).code).toBe('QUOTA_EXCEEDED')
      await tight.set('a', 100) // overwrite, no new key
      expect(await tight.delete('b')).toBe(true)
      expect(await tight.deleteMany(['c', 'd'])).toBe(2)
    })

    it('never lets 60 concurrent writers from two instances push usage past the cap', async () => {
      const quotas = { user: { maxKeys: 20, maxBytes: 20 * entrySize('k00', 'v'.repeat(20)) } }
      const env = await setup(target, { quotas })
      const other = await env.peer({ quotas })
      const stores = [env.cubby, other].map((cubby) => cubby.stores({ plugin: 'race', user: 'u' }).user!)
      const outcomes = await Promise.allSettled(
        Array.from({ length: 60 }, (_, i) => stores[i % 2]!.set(`k${String(i).padStart(2, '0')}`, 'v'.repeat(20))),
      )
      const ok = outcomes.filter((o) => o.status === 'fulfilled').length
      const refused = outcomes.filter(
        (o) => o.status === 'rejected' && (o.reason as { code?: string }).code === 'QUOTA_EXCEEDED',
      )
      expect(ok).toBe(20)
      expect(refused.length).toBe(40)
      expect(await stores[0]!.usage()).toEqual({ keys: 20, bytes: quotas.user.maxBytes })
      const listed = (await stores[1]!.list({ limit: 100 })).entries
      expect(listed).toHaveLength(20)
    })

    it('counts the net effect of a batch: duplicate keys once, set-then-delete as nothing', async () => {
      const cap = { maxKeys: 2, maxBytes: entrySize('a', 1) + entrySize('b', 22) }
      const { cubby, backdoor } = await setup(target, { quotas: { user: cap } })
      const user = cubby.stores({ plugin: 'dup', user: 'u' }).user!
      await user.set('a', 1)
      // One new key written twice (the last value wins): +1 key, and only the last value's bytes.
      await user.setMany([
        ['b', 'x'.repeat(40)],
        ['b', 22],
      ])
      expect(await user.usage()).toEqual({ keys: 2, bytes: cap.maxBytes })
      // At the cap, a batch that adds and removes the same new key, or rewrites the same key, adds nothing.
      await user.atomic().set('c', 'x'.repeat(100)).delete('c').commit()
      await user.atomic().set('c', 1).set('c', 2).delete('c').commit()
      await user.setMany([
        ['a', 'x'.repeat(100)],
        ['a', 1],
      ])
      await user.atomic().incr('n', 5).incr('n', 1).delete('n').commit()
      await user.atomic().delete('b').set('b', 22).commit()
      expect(await user.usage()).toEqual({ keys: 2, bytes: cap.maxBytes })
      expect(await backdoor.read(['default', 'dup', 'u'], 'c')).toBeUndefined()
      // …and a batch whose net effect does grow is still refused.
      expect(
        (
          await rejection(
            user.setMany([
              ['c', 1],
              ['c', 2],
            ]),
          )
        ).code,
      ).toBe('QUOTA_EXCEEDED')
      expect((await rejection(user.atomic().delete('c').set('c', 1).commit())).code).toBe('QUOTA_EXCEEDED')
      expect((await rejection(user.atomic().set('a', 1).set('a', 'x'.repeat(30)).commit())).code).toBe('QUOTA_EXCEEDED')
      expect(await user.getMany(['a', 'b', 'c'])).toEqual([1, 22, undefined])
    })

    it('enforces every rule that applies to a write together: plugin, user and explicit caps', async () => {
      // Paths at depth >= 4 satisfy any minQuotaDepth up to 4: the explicit cap is on a scope of user u2.
      const explicit = ['w', 'p', '', 'u2', 'sub']
      const quotas = {
        plugin: { maxKeys: 6 },
        user: { maxKeys: 3 },
        scopes: [{ path: explicit, maxKeys: 1 }],
      }
      const { cubby } = await setup(target, { quotas })
      const { store } = cubby.stores({ workspace: 'w', plugin: 'p' })
      const u1 = cubby.stores({ workspace: 'w', plugin: 'p', user: 'u1' }).user!
      const u2 = cubby.stores({ workspace: 'w', plugin: 'p', user: 'u2' }).user!
      const sub = u2.scope('sub')
      // The user cap binds (the plugin cap still has room).
      await u1.setMany({ a: 1, b: 1, c: 1 })
      expect(await rejection(u1.set('d', 1))).toMatchObject({
        code: 'QUOTA_EXCEEDED',
        scope: ['w', 'p', '', 'u1'],
        limit: 3,
      })
      // The explicit cap binds (user and plugin caps still have room).
      await sub.set('a', 1)
      expect(await rejection(sub.set('b', 1))).toMatchObject({ code: 'QUOTA_EXCEEDED', scope: explicit, limit: 1 })
      await u2.set('own', 1) // u2's own keys are outside the explicit cap
      // The plugin cap binds (u2 has room under its user cap).
      await store.set('shared', 1)
      expect(await store.usage()).toMatchObject({ keys: 6 })
      expect(await rejection(u2.set('more', 1))).toMatchObject({ code: 'QUOTA_EXCEEDED', scope: ['w', 'p'], limit: 6 })
      expect(await rejection(store.set('more', 1))).toMatchObject({ code: 'QUOTA_EXCEEDED', scope: ['w', 'p'] })
      expect(await u2.has('more')).toBe(false)
      // Freeing room under one cap does not lift another.
      await store.delete('shared')
      expect(await rejection(u1.set('d', 1))).toMatchObject({ scope: ['w', 'p', '', 'u1'] })
      expect(await rejection(sub.set('b', 1))).toMatchObject({ scope: explicit })
      await u2.set('more', 1)
    })

    it(`accepts caps at the backend's minQuotaDepth (${minQuotaDepth}) and refuses shallower ones at open`, async () => {
      const env = await setup(target)
      const at = ['cap', 'ped', 'scope', 'path'].slice(0, minQuotaDepth)
      const strict = await env.reopen({ quotas: { scopes: [{ path: at, maxKeys: 1 }] } })
      await strict.scope(...at, 'x').set('a', 1)
      expect((await rejection(strict.scope(...at, 'y').set('b', 1))).code).toBe('QUOTA_EXCEEDED')
      if (minQuotaDepth > 0) {
        const error = await rejection(env.reopen({ quotas: { scopes: [{ path: at.slice(0, -1), maxKeys: 1 }] } }))
        expect(error.code).toBe('INVALID_CONFIG')
      }
    })
  })
}
