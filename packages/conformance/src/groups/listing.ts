import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { byteOrder, rejection, setup } from '../harness.js'
import type { ConformanceTarget } from '../target.js'

/** Keys whose UTF-8 order differs from JS `<` (UTF-16) order: astral vs U+E000..U+FFFF. */
const ORDER_KEYS = [
  'a',
  'B',
  'é',
  '\u007F',
  '\u0080',
  '\u07FF',
  '\u0800',
  '\uE000',
  '\uFFFD',
  '\uFFFF',
  '😀',
  '𝄞',
  '\u{10FFFF}',
  'a😀',
  'a\uFFFF',
  'aa',
]

const range = (n: number, prefix = 'k') => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(4, '0')}`)

/** Registers the ordering and listing tests for `target`. */
export function listingGroup(target: ConformanceTarget): void {
  describe('ordering', () => {
    it('lists keys in UTF-8 byte order (astral after U+E000..U+FFFF), both directions', async () => {
      const { cubby } = await setup(target)
      const store = cubby.scope('order')
      for (const key of [...ORDER_KEYS].reverse()) await store.set(key, key)
      const expected = [...ORDER_KEYS].sort(byteOrder)
      expect(expected.indexOf('😀')).toBeGreaterThan(expected.indexOf('\uFFFF'))
      expect((await store.list()).entries.map((e) => e.key)).toEqual(expected)
      expect((await store.list({ reverse: true })).entries.map((e) => e.key)).toEqual([...expected].reverse())
      const paged: string[] = []
      let cursor: string | undefined
      do {
        const page = await store.list({ limit: 3, cursor, values: false })
        paged.push(...page.entries.map((e) => e.key))
        cursor = page.cursor
      } while (cursor)
      expect(paged).toEqual(expected)
      expect((await store.list({ start: '\uE000', end: '😀' })).entries.map((e) => e.key)).toEqual(
        expected.filter((k) => byteOrder(k, '\uE000') >= 0 && byteOrder(k, '😀') < 0),
      )
      expect((await store.list({ prefix: 'a' })).entries.map((e) => e.key)).toEqual(['a', 'aa', 'a\uFFFF', 'a😀'])
    })

    it('matches a byte-order model for random keys and ranges (property)', async () => {
      const { cubby } = await setup(target)
      const alphabet = fc.constantFrom('a', 'b', 'é', '\uE000', '\uFFFF', '😀', '\u{10FFFF}', '\u0000')
      const keyArb = fc.array(alphabet, { minLength: 1, maxLength: 4 }).map((a) => a.join(''))
      let run = 0
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(keyArb, { maxLength: 25 }),
          fc.record({
            prefix: fc.option(keyArb),
            start: fc.option(keyArb),
            end: fc.option(keyArb),
            reverse: fc.boolean(),
          }),
          fc.integer({ min: 1, max: 7 }),
          async (keys, bounds, limit) => {
            const store = cubby.scope('prop', String(run++))
            if (keys.length) await store.setMany(keys.map((k) => [k, k] as const))
            const opts = {
              ...(bounds.prefix !== null && { prefix: bounds.prefix }),
              ...(bounds.start !== null && { start: bounds.start }),
              ...(bounds.end !== null && { end: bounds.end }),
              reverse: bounds.reverse,
            }
            let expected = keys
              .filter((k) => opts.prefix === undefined || k.startsWith(opts.prefix))
              .filter((k) => opts.start === undefined || byteOrder(k, opts.start) >= 0)
              .filter((k) => opts.end === undefined || byteOrder(k, opts.end) < 0)
              .sort(byteOrder)
            if (opts.reverse) expected = expected.reverse()
            const got: string[] = []
            let cursor: string | undefined
            for (let pages = 0; pages < 100; pages++) {
              const page = await store.list({ ...opts, limit, cursor })
              expect(page.entries.length).toBeLessThanOrEqual(limit)
              got.push(...page.entries.map((e) => e.key))
              cursor = page.cursor
              if (!cursor) break
            }
            expect(got).toEqual(expected)
            const iterated: string[] = []
            for await (const key of store.keys({ ...opts, pageSize: limit })) iterated.push(key)
            expect(iterated).toEqual(expected)
          },
        ),
        { numRuns: 40 },
      )
    })
  })

  describe('listing', () => {
    it('pages with a cursor that is present exactly while more remain', async () => {
      const { cubby } = await setup(target)
      const store = cubby.scope('pages')
      const keys = range(250)
      await store.setMany(keys.map((k) => [k, { k }] as const))
      const first = await store.list({ limit: 100 })
      expect(first.entries).toHaveLength(100)
      expect(first.entries[0]).toMatchObject({ key: 'k0000', value: { k: 'k0000' } })
      expect(typeof first.entries[0]!.version).toBe('string')
      const second = await store.list({ limit: 100, cursor: first.cursor })
      const third = await store.list({ limit: 100, cursor: second.cursor })
      expect(third.entries).toHaveLength(50)
      expect(third.cursor).toBeUndefined()
      expect([...first.entries, ...second.entries, ...third.entries].map((e) => e.key)).toEqual(keys)
      const exact = await store.list({ limit: 250 })
      expect(exact.cursor).toBeUndefined()
      expect((await store.list()).entries).toHaveLength(100) // the default page size
    })

    it('keeps a cursor valid while other writes happen: no duplicates, nothing that stayed is skipped', async () => {
      const { cubby } = await setup(target)
      const store = cubby.scope('moving')
      await store.setMany(range(60).map((k) => [k, 0] as const))
      const seen: string[] = []
      let page = await store.list({ limit: 10, values: false })
      seen.push(...page.entries.map((e) => e.key))
      for (let round = 0; page.cursor; round++) {
        const last = seen[seen.length - 1]!
        await store.set(`${last}-after`, round) // after the cursor: must be seen
        await store.set(`a-before-${round}`, round) // before everything: must not be seen
        await store.delete(`k${String(Number(last.slice(1, 5)) + 2).padStart(4, '0')}`) // ahead: must not be seen
        await store.set(last, 'rewritten') // already seen: must not come back
        page = await store.list({ limit: 10, cursor: page.cursor, values: false })
        seen.push(...page.entries.map((e) => e.key))
      }
      expect(new Set(seen).size).toBe(seen.length)
      expect(seen.some((k) => k.startsWith('a-before'))).toBe(false)
      const final = (await store.list({ limit: 1000, values: false })).entries.map((e) => e.key)
      for (const key of final) if (key.startsWith('k')) expect(seen).toContain(key)
    })

    it('omits values with values: false and reports versions and expiry', async () => {
      const { cubby } = await setup(target)
      const store = cubby.scope('novalues')
      const version = await store.set('k', { big: 'x'.repeat(1000) })
      const { entries } = await store.list({ values: false })
      expect(entries).toEqual([{ key: 'k', version }])
      expect('value' in entries[0]!).toBe(false)
    })

    it('iterates every entry with entries()/keys(), honouring limit and pageSize', async () => {
      const { cubby } = await setup(target)
      const store = cubby.scope('iter')
      await store.setMany(range(37).map((k, i) => [k, i] as const))
      const all: number[] = []
      for await (const entry of store.entries<number>({ pageSize: 5 })) all.push(entry.value)
      expect(all).toEqual(Array.from({ length: 37 }, (_, i) => i))
      const limited: string[] = []
      for await (const key of store.keys({ limit: 12, pageSize: 5, reverse: true })) limited.push(key)
      expect(limited).toEqual(range(37).reverse().slice(0, 12))
      const prefixed: string[] = []
      for await (const key of store.keys({ prefix: 'k001' })) prefixed.push(key)
      expect(prefixed).toEqual(range(20).slice(10))
    })

    it('ends a page right after the entry that reaches ListQuery.maxBytes, both directions, skipping expired', async () => {
      const { cubby, clock, handle } = await setup(target)
      const store = cubby.scope('bytes')
      const sizes = [10, 10, 3000, 10, 10, 5000, 10, 10]
      await store.setMany(sizes.map((size, i) => [`k${i}`, 'x'.repeat(size)] as const))
      await store.set('k3', 'gone', { ttl: 1 })
      clock.advance(10)
      const backend = handle.backend
      const page = async (reverse: boolean, maxBytes: number, after?: string) => {
        const query = { reverse, limit: 100, values: true, maxBytes, now: clock.now(), ...(after ? { after } : {}) }
        return (await backend.list(['bytes'], query)).map((row) => [row.key, row.value!.byteLength] as const)
      }
      const walk = async (reverse: boolean, maxBytes: number) => {
        const pages: string[][] = []
        let after: string | undefined
        for (let round = 0; round < 20; round++) {
          const rows = await page(reverse, maxBytes, after)
          if (rows.length > 0) pages.push(rows.map(([key]) => key))
          const bytes = rows.reduce((sum, [, size]) => sum + size, 0)
          // Every entry but the last keeps the page below the bound; a short page below it is the end.
          expect(rows.slice(0, -1).reduce((sum, [, size]) => sum + size, 0)).toBeLessThan(maxBytes)
          if (rows.length === 0 || bytes < maxBytes) return pages
          after = rows[rows.length - 1]![0]
        }
        throw new Error('paging by maxBytes did not end')
      }
      expect(await walk(false, 2000)).toEqual([
        ['k0', 'k1', 'k2'],
        ['k4', 'k5'],
        ['k6', 'k7'],
      ])
      expect(await walk(true, 2000)).toEqual([
        ['k7', 'k6', 'k5'],
        ['k4', 'k2'],
        ['k1', 'k0'],
      ])
      expect(await walk(false, 1)).toEqual([['k0'], ['k1'], ['k2'], ['k4'], ['k5'], ['k6'], ['k7']])
      expect((await page(false, 1_000_000)).map(([key]) => key)).toEqual(['k0', 'k1', 'k2', 'k4', 'k5', 'k6', 'k7'])
    })

    it('lists only the scope’s own keys, not child scopes’', async () => {
      const { cubby } = await setup(target)
      await cubby.scope('p', 'child').set('k', 1)
      await cubby.scope('p').set('own', 1)
      expect((await cubby.scope('p').list()).entries.map((e) => e.key)).toEqual(['own'])
      expect((await cubby.scope('empty').list()).entries).toEqual([])
    })

    it('rejects bad list options and foreign cursors with INVALID_CONFIG', async () => {
      const { cubby } = await setup(target, { limits: { maxPageSize: 50, maxKeyBytes: 16 } })
      const store = cubby.scope('opts')
      await store.setMany(range(5).map((k) => [k, 1] as const))
      await cubby.scope('opts-sibling').set('k', 1) // so the root has two children and a scopes page of 1 has a cursor
      await cubby.scope('opts-sibling').setMany(range(3).map((k) => [k, 1] as const))
      const { cursor } = await store.list({ limit: 2 })
      const scopesCursor = (await cubby.scope().scopes({ limit: 1 })).cursor
      const siblingCursor = (await cubby.scope('opts-sibling').list({ limit: 1 })).cursor
      expect(scopesCursor, 'a scopes page of 1 out of 2 children has a cursor').toBeDefined()
      expect(siblingCursor).toBeDefined()
      // A real cursor whose key (the last key of the page, k0001) is replaced: what a forged cursor looks like.
      const forged = (last: unknown) => {
        const parts = JSON.parse(Buffer.from(cursor!, 'base64url').toString('utf8')) as unknown[]
        expect(parts).toContain('k0001')
        const json = JSON.stringify(parts.map((part) => (part === 'k0001' ? last : part)))
        return Buffer.from(json, 'utf8').toString('base64url')
      }
      const bad: Array<[string, () => Promise<unknown>]> = [
        ['limit 0', () => store.list({ limit: 0 })],
        ['limit over maxPageSize', () => store.list({ limit: 51 })],
        ['fractional limit', () => store.list({ limit: 1.5 })],
        ['garbage cursor', () => store.list({ cursor: 'not-a-cursor' })],
        ['cursor of the other order', () => store.list({ cursor: cursor!, reverse: true })],
        ['scopes cursor given to list', () => store.list({ cursor: scopesCursor! })],
        ['list cursor given to scopes', () => cubby.scope().scopes({ cursor: cursor! })],
        ['cursor of another scope', () => store.list({ cursor: siblingCursor! })],
        ['forged cursor with a lone surrogate', () => store.list({ cursor: forged('\uD800') })],
        ['forged cursor with an oversize key', () => store.list({ cursor: forged('k'.repeat(100)) })],
        ['forged cursor with a number', () => store.list({ cursor: forged(5) })],
        ['non-string prefix', () => store.list({ prefix: 5 as unknown as string })],
        ['lone surrogate in start', () => store.list({ start: '\uD800' })],
        ['prefix longer than any key', () => store.list({ prefix: 'p'.repeat(17) })],
        ['end longer than any key', () => store.list({ end: 'e'.repeat(17) })],
        ['non-boolean values', () => store.list({ values: 'yes' as never })],
        ['unknown option (typo)', () => store.list({ prefx: 'k' } as never)],
        ['unknown keys() option', () => store.keys({ pagesize: 2 } as never).next()],
        ['unknown scopes() option', () => store.scopes({ limt: 2 } as never)],
      ]
      for (const [name, call] of bad) {
        const error = await rejection(call())
        expect(error.code, name).toBe('INVALID_CONFIG')
      }
      const typo = await rejection(store.list({ prefx: 'k' } as never))
      expect((typo as { field?: string }).field).toBe('list.prefx')
      expect(typo.message).toMatch(/prefix/) // the known options are named
      expect((await store.list({ limit: 50 })).entries).toHaveLength(5)
    })
  })
}
