import { openCubby } from '@cubby/core'
import { compareKeys } from '@cubby/core/backend'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ExpiryHeap } from '../src/expiry-heap.js'
import { MemoryBackend } from '../src/memory-backend.js'
import { SortedKeys } from '../src/sorted-keys.js'
import { internalSizes } from '../src/testing/index.js'

describe('SortedKeys', () => {
  it('matches a sorted set under random adds and removes (property)', () => {
    const keyArb = fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }).filter((s) => s.isWellFormed())
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), keyArb), { maxLength: 300 }), (steps) => {
        const index = new SortedKeys()
        const present = new Set<string>()
        for (const [add, key] of steps) {
          if (add && !present.has(key)) {
            index.add(key)
            present.add(key)
          } else if (!add && present.has(key)) {
            index.remove(key)
            present.delete(key)
          }
        }
        const live = index.view().filter((key) => present.has(key))
        expect(live).toEqual([...present].sort(compareKeys))
        expect(new Set(index.view()).size).toBe(index.view().length) // no key twice
      }),
      { numRuns: 300 },
    )
  })

  it('finds bounds by binary search', () => {
    const keys = ['a', 'b', 'b2', 'c']
    expect(SortedKeys.lowerBound(keys, 'b', false)).toBe(1)
    expect(SortedKeys.lowerBound(keys, 'b', true)).toBe(2)
    expect(SortedKeys.lowerBound(keys, 'z', false)).toBe(4)
  })
})

describe('ExpiryHeap', () => {
  it('pops exactly the due items in time order (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 200 }),
        fc.integer({ min: 0, max: 1000 }),
        (times, now) => {
          const heap = new ExpiryHeap()
          for (const [i, at] of times.entries()) heap.push({ at, scopeId: '', key: String(i), version: '' })
          const popped: number[] = []
          for (let item = heap.popDue(now); item; item = heap.popDue(now)) popped.push(item.at)
          expect(popped).toEqual(times.filter((t) => t <= now).sort((a, b) => a - b))
          expect(heap.size).toBe(times.filter((t) => t > now).length)
        },
      ),
      { numRuns: 300 },
    )
  })
})

describe('ExpiryHeap.retain', () => {
  it('keeps exactly the accepted items, in heap order (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 100 }), fc.boolean()), { maxLength: 200 }), (items) => {
        const heap = new ExpiryHeap()
        for (const [i, [at, keep]] of items.entries())
          heap.push({ at, scopeId: '', key: String(i), version: String(keep) })
        heap.retain((item) => item.version === 'true')
        const popped: number[] = []
        for (let item = heap.popDue(1000); item; item = heap.popDue(1000)) popped.push(item.at)
        expect(popped).toEqual(
          items
            .filter(([, keep]) => keep)
            .map(([at]) => at)
            .sort((a, b) => a - b),
        )
      }),
      { numRuns: 200 },
    )
  })
})

describe('memory use stays proportional to live data', () => {
  it('does not grow the expiry heap when one key is rewritten with a TTL many times', async () => {
    const backend = new MemoryBackend({ sweepIntervalMs: 1_000_000 })
    const cubby = await openCubby({ backend })
    const store = cubby.scope('cache')
    for (let i = 0; i < 20_000; i++) await store.set('token', i, { ttl: 86_400_000 })
    await store.setMany(
      Array.from({ length: 50 }, (_, i) => [`k${i}`, i] as const),
      { ttl: 86_400_000 },
    )
    const sizes = internalSizes(backend)
    expect(sizes.ttlRecords).toBe(51)
    expect(sizes.expiryItems).toBeLessThanOrEqual(3 * 51 + 64)
    await cubby.close()
  })

  it('forgets the usage nodes of scopes that were written and then emptied', async () => {
    const backend = new MemoryBackend({ sweepIntervalMs: 1_000_000 })
    let now = 1000
    const cubby = await openCubby({ backend, clock: () => now })
    await cubby.scope('w', 'p').set('shared', 1)
    for (let i = 0; i < 2000; i++) {
      const user = cubby.scope('w', 'p', `user${i}`)
      await user.set('k', i)
      if (i % 3 === 0) await user.drop()
      else if (i % 3 === 1) await user.delete('k')
      else await user.set('gone', 1, { ttl: 1 }).then(() => user.delete('k'))
    }
    now += 10
    expect(await cubby.scope('w').usage()).toMatchObject({ keys: 1 })
    expect((await cubby.scope('w', 'p').scopes()).names).toEqual([])
    // root, w, w/p hold data; nothing else is kept
    expect(internalSizes(backend)).toMatchObject({ usageNodes: 3, scopes: 1 })
    await cubby.scope('w', 'p', 'again').set('k', 1)
    expect(await cubby.scope('w').usage()).toMatchObject({ keys: 2 })
    expect((await cubby.scope('w', 'p').scopes()).names).toEqual(['again'])
    await cubby.close()
  })
})
