import { describe, expect, it } from 'vitest'
import { type Capabilities, gatedIt } from '../gate.js'
import { rejection, setup, waitFor } from '../harness.js'
import { usageOf } from '../sizes.js'
import type { ConformanceTarget } from '../target.js'

const keysOf = (page: { entries: { key: string }[] }) => page.entries.map((entry) => entry.key)

/** Registers the ttl tests for `target`. */
export function ttlGroup(target: ConformanceTarget, capabilities: Capabilities): void {
  const usage = capabilities.quotas
  describe('ttl', () => {
    it('makes an expired key absent to every call at once', async () => {
      const { cubby, clock } = await setup(target)
      const parent = cubby.scope('ttl')
      const store = parent.scope('child')
      await store.set('k', 'v', { ttl: 1000 })
      await store.set('stay', 'v')
      await parent.scope('only-expiring').set('k', 'v', { ttl: 1000 })
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
      // No write in between: a child holding only expired data is no longer listed.
      expect((await parent.scopes()).names).toEqual(['child'])
      expect(await store.delete('k')).toBe(false)
      await store.delete('stay')
      expect((await parent.scopes()).names).toEqual([])
    })

    gatedIt(
      capabilities,
      ['ttl', 'quotas'],
      'usage() stops counting an expired key at once, with no write in between',
      async () => {
        const { cubby, clock } = await setup(target)
        const parent = cubby.scope('ttl-usage')
        await parent.scope('child').set('k', 'v', { ttl: 1000 })
        await parent.set('stay', 1)
        await parent.scope('child', 'grand').set('g', 'x'.repeat(20), { ttl: 2000 })
        clock.advance(1000)
        expect(await parent.usage()).toEqual(usageOf({ stay: 1, g: 'x'.repeat(20) }))
        expect(await parent.scope('child').usage()).toEqual(usageOf({ g: 'x'.repeat(20) }))
        clock.advance(1000)
        expect(await parent.scope('child').usage()).toEqual({ keys: 0, bytes: 0 })
        expect(await parent.usage()).toEqual(usageOf({ stay: 1 }))
      },
    )

    it('fills every page with live entries when expired ones sit in range: list, keys(), entries(), scopes()', async () => {
      const { cubby, clock } = await setup(target)
      const store = cubby.scope('ttl-pages')
      const expiring = (prefix: string) =>
        Array.from({ length: 12 }, (_, i) => [`${prefix}${String(i).padStart(2, '0')}`, i] as const)
      await store.setMany(expiring('a'), { ttl: 100 }) // expired keys in front of the live ones…
      await store.setMany({ m1: 1, m2: 2, m3: 3 })
      await store.setMany(expiring('z'), { ttl: 100 }) // …and behind them, for reverse order
      await store.set('m2x', 'expiring between live keys', { ttl: 100 })
      const root = cubby.scope('ttl-pages-scopes')
      for (const [name] of expiring('a')) await root.scope(name).set('k', 1, { ttl: 100 })
      await root.scope('m1').set('k', 1)
      await root.scope('m2').set('k', 1)
      for (const [name] of expiring('z')) await root.scope(name).set('k', 1, { ttl: 100 })
      clock.advance(100) // and no write after this: reads alone must skip what expired
      const live = ['m1', 'm2', 'm3']
      for (const reverse of [false, true]) {
        const expected = reverse ? [...live].reverse() : live
        const first = await store.list({ limit: 1, reverse })
        expect(keysOf(first), `first page, reverse=${reverse}`).toEqual(expected.slice(0, 1))
        expect(first.cursor, 'more remain, so the page has a cursor').toBeDefined()
        const paged: string[] = []
        let cursor: string | undefined
        do {
          const page = await store.list({ limit: 1, reverse, cursor, values: false })
          expect(page.entries, 'every page but the last is full').toHaveLength(1)
          paged.push(...keysOf(page))
          cursor = page.cursor
        } while (cursor)
        expect(paged).toEqual(expected)
        const two = await store.list({ limit: 2, reverse })
        expect(keysOf(two)).toEqual(expected.slice(0, 2))
        expect(two.cursor).toBeDefined()
        const iterated: string[] = []
        for await (const key of store.keys({ pageSize: 1, reverse })) iterated.push(key)
        expect(iterated, `keys({ pageSize: 1, reverse: ${reverse} })`).toEqual(expected)
        const values: unknown[] = []
        for await (const entry of store.entries({ pageSize: 2, reverse })) values.push(entry.value)
        expect(values).toEqual(expected.map((key) => Number(key.slice(1))))
      }
      const names: string[] = []
      let cursor: string | undefined
      do {
        const page = await root.scopes({ limit: 1, cursor })
        expect(page.names, 'every scopes page but the last is full').toHaveLength(1)
        names.push(...page.names)
        cursor = page.cursor
      } while (cursor)
      expect(names).toEqual(['m1', 'm2'])
      expect((await root.scopes()).names).toEqual(['m1', 'm2'])
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
      const expired = await store.set('gone', 1, { ttl: 100 })
      clock.advance(100)
      expect((await store.atomic().check('gone', expired).set('x', 1).commit()).ok).toBe(false)
      expect(await store.has('x')).toBe(false)
      const result = await store.atomic().check('gone', null).set('x', 2).commit()
      expect(result.ok).toBe(true)
      expect(await store.get('x')).toBe(2)
      expect(await store.delete('gone', { ifVersion: null })).toBe(false)
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
      for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '100', Number.MAX_VALUE, 1e300, 2 ** 60]) {
        const error = await rejection(store.set('k', 1, { ttl: ttl as number }))
        expect(error.code).toBe('INVALID_CONFIG')
        expect(error.message).toContain('ttl')
        expect((await rejection(store.incr('k', 1, { ttl: ttl as number }))).code).toBe('INVALID_CONFIG')
      }
      expect(await backdoor.count(['ttl-bad'])).toBe(0)
    })
  })
}
