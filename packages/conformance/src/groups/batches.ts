import { describe, expect, it } from 'vitest'
import { rejection, setup } from '../harness.js'
import type { ConformanceTarget } from '../target.js'

/** Registers the batches tests for `target`. */
export function batchesGroup(target: ConformanceTarget): void {
  describe('batches are all or nothing', () => {
    it('setMany accepts pairs, Maps, generators and plain objects', async () => {
      const { cubby } = await setup(target)
      const store = cubby.scope('many')
      await store.setMany([
        ['a', 1],
        ['b', 2],
      ])
      await store.setMany(new Map([['c', 3]]))
      await store.setMany(
        (function* () {
          yield ['d', 4] as const
        })(),
      )
      await store.setMany({ e: 5, __proto__x: 6 })
      await store.setMany([])
      expect(await store.getMany(['a', 'b', 'c', 'd', 'e', '__proto__x'])).toEqual([1, 2, 3, 4, 5, 6])
      await store.setMany([
        ['dup', 1],
        ['dup', 2],
      ])
      expect(await store.get('dup')).toBe(2)
    })

    it.each([
      [
        'an unstorable value',
        [
          ['ok', 1],
          ['bad', () => 1],
        ],
        'INVALID_VALUE',
      ],
      [
        'an invalid key',
        [
          ['ok', 1],
          ['', 2],
        ],
        'INVALID_KEY',
      ],
      [
        'an oversize value',
        [
          ['ok', 1],
          ['big', 'x'.repeat(2000)],
        ],
        'VALUE_TOO_LARGE',
      ],
      ['a malformed entry', [['ok', 1], ['lonely']], 'INVALID_CONFIG'],
    ])('setMany with %s writes nothing', async (_name, entries, code) => {
      const { cubby, backdoor } = await setup(target, { limits: { maxValueBytes: 1000 } })
      const store = cubby.scope('many-bad')
      await store.set('ok', 'before')
      const error = await rejection(store.setMany(entries as [string, unknown][]))
      expect(error.code).toBe(code)
      expect(await store.get('ok')).toBe('before')
      expect(await backdoor.count(['many-bad'])).toBe(1)
    })

    it('getMany keeps order, repeats and gaps; deleteMany counts what it removed', async () => {
      const { cubby } = await setup(target)
      const store = cubby.scope('many-read')
      await store.setMany({ a: 1, b: 2, c: 3 })
      expect(await store.getMany(['c', 'x', 'a', 'c'])).toEqual([3, undefined, 1, 3])
      expect(await store.getMany([])).toEqual([])
      expect(await store.deleteMany(['a', 'a', 'x', 'c'])).toBe(2)
      expect(await store.deleteMany([])).toBe(0)
      expect(await store.getMany(['a', 'b', 'c'])).toEqual([undefined, 2, undefined])
    })

    it('atomic() commits checks, sets, deletes and incrs together and reports versions', async () => {
      const { cubby } = await setup(target)
      const store = cubby.scope('atomic')
      const v = await store.set('a', 1)
      await store.set('gone', 1)
      const result = await store
        .atomic()
        .check('a', v)
        .check('absent', null)
        .set('b', { x: 1 })
        .delete('gone')
        .incr('n', 5)
        .incr('n', 2)
        .set('c', 1)
        .delete('c')
        .commit()
      expect(result.ok).toBe(true)
      if (!result.ok) return
      expect(Object.keys(result.versions).sort()).toEqual(['b', 'n'])
      expect((await store.getEntry('b'))?.version).toBe(result.versions.b)
      expect((await store.getEntry('n'))?.version).toBe(result.versions.n)
      expect(await store.getMany(['a', 'b', 'gone', 'n', 'c'])).toEqual([1, { x: 1 }, undefined, 7, undefined])
    })

    it('atomic() with a failed check returns { ok: false } and writes nothing', async () => {
      const { cubby, backdoor } = await setup(target)
      const store = cubby.scope('atomic-check')
      const v1 = await store.set('a', 1)
      await store.set('a', 2)
      const result = await store.atomic().set('b', 1).delete('a').check('a', v1).commit()
      expect(result).toEqual({ ok: false })
      expect(await store.get('a')).toBe(2)
      expect(await backdoor.read(['atomic-check'], 'b')).toBeUndefined()
      expect((await store.atomic().check('a', null).set('z', 1).commit()).ok).toBe(false)
    })

    it('atomic() with incr on a non-number rejects with INVALID_VALUE and writes nothing', async () => {
      const { cubby, backdoor } = await setup(target)
      const store = cubby.scope('atomic-nan')
      await store.set('text', 'hello')
      const error = await rejection(store.atomic().set('first', 1).incr('text').commit())
      expect(error.code).toBe('INVALID_VALUE')
      expect(await backdoor.read(['atomic-nan'], 'first')).toBeUndefined()
      expect((await rejection(store.incr('text'))).code).toBe('INVALID_VALUE')
      expect(await store.get('text')).toBe('hello')
    })

    it('incr adds to numbers, starting from 0, and returns the new number', async () => {
      const { cubby } = await setup(target)
      const store = cubby.scope('incr')
      expect(await store.incr('n')).toBe(1)
      expect(await store.incr('n', 41)).toBe(42)
      expect(await store.incr('n', -50)).toBe(-8)
      expect(await store.incr('f', 0.5)).toBe(0.5)
      expect(await store.incr('f', 0.25)).toBe(0.75)
      await store.set('big', Number.MAX_SAFE_INTEGER - 1)
      expect(await store.incr('big')).toBe(Number.MAX_SAFE_INTEGER)
      expect(typeof (await store.get('n'))).toBe('number')
      for (const by of [Number.NaN, Number.POSITIVE_INFINITY, '1']) {
        expect((await rejection(store.incr('n', by as number))).code).toBe('INVALID_CONFIG')
      }
      for (const value of ['5', { n: 1 }, null, true, [1]]) {
        await store.set('x', value)
        expect((await rejection(store.incr('x'))).code).toBe('INVALID_VALUE')
      }
    })

    it('incr refuses a sum that is not finite or past MAX_SAFE_INTEGER (a lost update), writing nothing', async () => {
      const { cubby, backdoor } = await setup(target)
      const store = cubby.scope('incr-limits')
      const cases: Array<[string, number, number]> = [
        ['huge', Number.MAX_VALUE, Number.MAX_VALUE], // Infinity
        ['nan', Number.NaN, 1],
        ['inf', Number.POSITIVE_INFINITY, 1],
        ['safe', Number.MAX_SAFE_INTEGER, 1], // 2^53: the next +1 would be lost
        ['negative', Number.MIN_SAFE_INTEGER, -1],
        ['unsafe', 2 ** 60, 1],
      ]
      const outcomes: string[] = []
      for (const [key, start, by] of cases) {
        await store.set(key, start)
        const before = await backdoor.read(['incr-limits'], key)
        const outcome = await store.incr(key, by).then(
          (sum) => `resolved to ${sum}`,
          (error: Error & { code?: string }) => (error.message.length > 20 ? error.code : 'a short message'),
        )
        const unchanged = Buffer.compare((await backdoor.read(['incr-limits'], key))!.value, before!.value) === 0
        outcomes.push(`${start} + ${by}: ${outcome}${unchanged ? '' : ', and the stored value changed'}`)
      }
      // All cases at once, so a failure shows every rule the backend misses.
      expect(outcomes).toEqual(cases.map(([, start, by]) => `${start} + ${by}: INVALID_VALUE`))
      expect((await rejection(store.incr('fresh', Number.MAX_SAFE_INTEGER + 1))).code).toBe('INVALID_VALUE')
      expect(await backdoor.read(['incr-limits'], 'fresh')).toBeUndefined()
      const batch = store.atomic().set('first', 1).incr('safe', 1)
      expect((await rejection(batch.commit())).code).toBe('INVALID_VALUE')
      expect(await backdoor.read(['incr-limits'], 'first')).toBeUndefined()
      // Right up to the limits works, and fractions are exempt from the integer rule.
      await store.set('edge', Number.MAX_SAFE_INTEGER - 2)
      expect(await store.incr('edge', 2)).toBe(Number.MAX_SAFE_INTEGER)
      expect(await store.incr('edge', -Number.MAX_SAFE_INTEGER)).toBe(0)
      expect(await store.incr('small', 0.1)).toBe(0.1)
      expect(await store.incr('small', 0.2)).toBe(0.1 + 0.2)
    })

    it('reads the keys getMany was given even if the caller reuses its array at once', async () => {
      const { cubby } = await setup(target)
      const store = cubby.scope('many-reuse')
      await store.setMany({ a: 1, b: 2, c: 3 })
      const keys = ['a', 'b']
      const pending = store.getMany(keys)
      keys.push('c')
      keys[0] = 'c'
      keys[1] = { not: 'a key' } as never
      expect(await pending).toEqual([1, 2])
    })

    it('refuses an endless setMany iterable at limits.maxBatchSize + 1 entries instead of reading it all', async () => {
      const { cubby, backdoor } = await setup(target, { limits: { maxBatchSize: 5 } })
      const store = cubby.scope('many-endless')
      let produced = 0
      const endless = (function* () {
        for (;;) yield [`k${produced++}`, produced] as const
      })()
      const error = await rejection(store.setMany(endless))
      expect(error.code).toBe('INVALID_CONFIG')
      expect(error.message).toMatch(/maxBatchSize/)
      expect(produced).toBeLessThanOrEqual(6)
      expect(await backdoor.count(['many-endless'])).toBe(0)
    })

    it('rejects batches over limits.maxBatchSize and repeated commits', async () => {
      const { cubby } = await setup(target, { limits: { maxBatchSize: 3 } })
      const store = cubby.scope('batch-size')
      await store.setMany({ a: 1, b: 2, c: 3 })
      expect((await rejection(store.setMany({ a: 1, b: 2, c: 3, d: 4 }))).code).toBe('INVALID_CONFIG')
      expect((await rejection(store.deleteMany(['a', 'b', 'c', 'd']))).code).toBe('INVALID_CONFIG')
      const batch = store.atomic().set('x', 1)
      await batch.commit()
      expect((await rejection(batch.commit())).code).toBe('INVALID_CONFIG')
      expect(await store.getMany(['a', 'd'])).toEqual([1, undefined])
    })
  })
}
