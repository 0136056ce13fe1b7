import { compareKeys } from '@cubby/core/backend'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ExpiryHeap } from '../src/expiry-heap.js'
import { SortedKeys } from '../src/sorted-keys.js'

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
