import { describe, expect, it } from 'vitest'
import { rejection, setup, waitFor } from '../harness.js'
import type { ConformanceTarget } from '../target.js'

export function ttlGroup(target: ConformanceTarget, usage: boolean): void {
  describe('ttl', () => {
    it('makes an expired key absent to every call at once', async () => {
      const { cubby, clock } = await setup(target)
      const parent = cubby.scope('ttl')
      const store = parent.scope('child')
      await store.set('k', 'v', { ttl: 1000 })
      await store.set('stay', 'v')
      const entry = await store.getEntry('k')
      expect(entry?.expiresAt).toBe(clock.now() + 1000)
      clock.advance(999)
      expect(await store.get('k')).toBe('v')
      clock.advance(1)
      expect(await store.get('k')).toBeUndefined()
      expect(await store.get('k', 'fallback')).toBe('fallback')
      expect(await store.has('k')).toBe(false)
      expect(await store.getEntry('k')).toBeUndefined()
      expect(await store.getMany(['k', 'stay'])).toEqual([undefined, 'v'])
      expect((await store.list()).entries.map((e) => e.key)).toEqual(['stay'])
      const keys: string[] = []
      for await (const key of store.keys()) keys.push(key)
      expect(keys).toEqual(['stay'])
      expect(await store.delete('k')).toBe(false)
      await store.delete('stay')
      expect((await parent.scopes()).names).toEqual([])
      if (usage) expect(await parent.usage()).toEqual({ keys: 0, bytes: 0 })
    })

    it('treats an expired key as absent for writes: incr restarts, ifVersion null succeeds, old versions conflict', async () => {
      const { cubby, clock } = await setup(target)
      const store = cubby.scope('ttl-writes')
      await store.set('n', 41, { ttl: 100 })
      const old = await store.set('v', 'old', { ttl: 100 })
      clock.advance(100)
      expect(await store.incr('n')).toBe(1)
      expect((await rejection(store.set('v', 'x', { ifVersion: old }))).code).toBe('CONFLICT')
      await store.set('v', 'new', { ifVersion: null })
      expect(await store.get('v')).toBe('new')
      const result = await store.atomic().check('gone', null).commit()
      expect(result.ok).toBe(true)
    })

    it('set without ttl removes an existing TTL; update and incr keep it unless given one', async () => {
      const { cubby, clock } = await setup(target)
      const store = cubby.scope('ttl-keep')
      await store.set('plain', 1, { ttl: 1000 })
      await store.set('plain', 2)
      expect((await store.getEntry('plain'))?.expiresAt).toBeUndefined()
      await store.set('upd', 1, { ttl: 1000 })
      await store.update<number>('upd', (n) => (n ?? 0) + 1)
      await store.set('inc', 1, { ttl: 1000 })
      await store.incr('inc')
      await store.set('inc2', 1, { ttl: 1000 })
      await store.incr('inc2', 1, { ttl: 5000 })
      await store.set('upd2', 1)
      await store.update('upd2', () => 7, { ttl: 5000 })
      const base = clock.now()
      expect((await store.getEntry('upd'))?.expiresAt).toBe(base + 1000)
      expect((await store.getEntry('inc'))?.expiresAt).toBe(base + 1000)
      expect((await store.getEntry('inc2'))?.expiresAt).toBe(base + 5000)
      expect((await store.getEntry('upd2'))?.expiresAt).toBe(base + 5000)
      clock.advance(1000)
      expect(await store.getMany(['plain', 'upd', 'inc', 'inc2', 'upd2'])).toEqual([2, undefined, undefined, 2, 7])
    })

    it('applies ttl in setMany and atomic()', async () => {
      const { cubby, clock } = await setup(target)
      const store = cubby.scope('ttl-batch')
      await store.setMany({ a: 1, b: 2 }, { ttl: 500 })
      await store.atomic().set('c', 3, { ttl: 500 }).incr('d', 4, { ttl: 500 }).set('e', 5).commit()
      clock.advance(500)
      expect(await store.getMany(['a', 'b', 'c', 'd', 'e'])).toEqual([undefined, undefined, undefined, undefined, 5])
    })

    it('reports expiresAt in list entries', async () => {
      const { cubby, clock } = await setup(target)
      const store = cubby.scope('ttl-list')
      await store.set('a', 1, { ttl: 2000 })
      await store.set('b', 1)
      const { entries } = await store.list({ values: false })
      expect(entries.map((e) => e.expiresAt)).toEqual([clock.now() + 2000, undefined])
    })

    it('reclaims the space of expired keys (backdoor)', async () => {
      const { cubby, clock, backdoor } = await setup(target)
      const store = cubby.scope('ttl-reclaim')
      await store.setMany(
        Array.from({ length: 20 }, (_, i) => [`k${i}`, i] as const),
        { ttl: 50 },
      )
      await store.set('keep', 1)
      expect(await backdoor.count(['ttl-reclaim'])).toBe(21)
      clock.advance(60_000)
      await waitFor(async () => {
        if (usage) await store.usage() // usage() reclaims what is due, making the figure exact
        await store.set('poke', 1) // so does a write, in backends that reclaim on write
        return (await backdoor.count(['ttl-reclaim'])) === 2
      }, 'expired entries to be physically removed')
    })

    it('rejects invalid ttl with INVALID_CONFIG and writes nothing', async () => {
      const { cubby, backdoor } = await setup(target)
      const store = cubby.scope('ttl-bad')
      for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '100']) {
        const error = await rejection(store.set('k', 1, { ttl: ttl as number }))
        expect(error.code).toBe('INVALID_CONFIG')
        expect(error.message).toContain('ttl')
        expect((await rejection(store.incr('k', 1, { ttl: ttl as number }))).code).toBe('INVALID_CONFIG')
      }
      expect(await backdoor.count(['ttl-bad'])).toBe(0)
    })
  })
}
