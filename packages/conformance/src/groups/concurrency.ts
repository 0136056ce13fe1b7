import { describe, expect, it } from 'vitest'
import { setup } from '../harness.js'
import type { ConformanceTarget } from '../target.js'

/** Registers the concurrency tests for `target`. */
export function concurrencyGroup(target: ConformanceTarget): void {
  describe('concurrency: no lost updates', () => {
    it('incr from two instances, 400 calls in flight at once', async () => {
      const { cubby, peer } = await setup(target)
      const other = await peer()
      const stores = [cubby.scope('race'), other.scope('race')]
      const results = await Promise.all(
        Array.from({ length: 400 }, (_, i) => stores[i % 2]!.incr('n', i % 3 === 0 ? 2 : 1)),
      )
      const expected = Array.from({ length: 400 }, (_, i) => (i % 3 === 0 ? 2 : 1)).reduce((a, b) => a + b, 0)
      expect(await stores[0]!.get('n')).toBe(expected)
      expect(Math.max(...results)).toBe(expected)
      expect(new Set(results).size).toBe(400) // every caller saw a distinct total
    })

    it('update of a JSON object from two instances, 120 calls in flight', async () => {
      const { cubby, peer } = await setup(target)
      const other = await peer()
      const stores = [cubby.scope('race-obj'), other.scope('race-obj')]
      type Doc = { count: number; ids: number[] }
      await Promise.all(
        Array.from({ length: 120 }, (_, i) =>
          stores[i % 2]!.update<Doc>('doc', async (doc) => {
            if (i % 4 === 0) await new Promise((resolve) => setTimeout(resolve, 1)) // a slow updater
            return { count: (doc?.count ?? 0) + 1, ids: [...(doc?.ids ?? []), i] }
          }),
        ),
      )
      const doc = (await stores[0]!.get<Doc>('doc'))!
      expect(doc.count).toBe(120)
      expect([...doc.ids].sort((a, b) => a - b)).toEqual(Array.from({ length: 120 }, (_, i) => i))
    })

    it('atomic check-and-set transfers keep the total and never double-apply', async () => {
      const { cubby, peer } = await setup(target)
      const other = await peer()
      const stores = [cubby.scope('bank'), other.scope('bank')]
      await stores[0]!.setMany({ alice: 100, bob: 100 })
      const transfer = async (store: (typeof stores)[number], from: string, to: string) => {
        for (;;) {
          const [a, b] = await Promise.all([store.getEntry<number>(from), store.getEntry<number>(to)])
          const result = await store
            .atomic()
            .check(from, a!.version)
            .check(to, b!.version)
            .set(from, a!.value - 1)
            .set(to, b!.value + 1)
            .commit()
          if (result.ok) return
        }
      }
      await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          transfer(stores[i % 2]!, i % 3 === 0 ? 'bob' : 'alice', i % 3 === 0 ? 'alice' : 'bob'),
        ),
      )
      const [alice, bob] = await stores[0]!.getMany<number>(['alice', 'bob'])
      expect(alice! + bob!).toBe(200)
      expect(bob).toBe(100 + 40 - 20)
    })

    it('update with maxRetries gives up with ConflictError only when it really lost', async () => {
      const { cubby } = await setup(target)
      const store = cubby.scope('retries')
      await store.set('k', 0)
      let calls = 0
      const result = await store.update<number>(
        'k',
        async (n) => {
          calls++
          if (calls === 1) await store.set('k', 100) // another writer gets in between read and write
          return (n ?? 0) + 1
        },
        { maxRetries: 1 },
      )
      expect(result).toBe(101)
      expect(calls).toBe(2)
      let attempts = 0
      const error = await store
        .update<number>(
          'k',
          async (n) => {
            attempts++
            await store.set('k', -attempts)
            return (n ?? 0) + 1
          },
          { maxRetries: 2 },
        )
        .catch((e: { code?: string }) => e)
      expect((error as { code?: string }).code).toBe('CONFLICT')
      expect(attempts).toBe(3)
    })

    it('update deletes when fn returns undefined, and resolves to what it stored', async () => {
      const { cubby } = await setup(target)
      const store = cubby.scope('upd')
      expect(await store.update<number>('k', (n) => (n ?? 10) * 2)).toBe(20)
      expect(await store.get('k')).toBe(20)
      expect(await store.update('k', () => undefined)).toBeUndefined()
      expect(await store.has('k')).toBe(false)
      expect(await store.update('absent', () => undefined)).toBeUndefined()
    })
  })
}
