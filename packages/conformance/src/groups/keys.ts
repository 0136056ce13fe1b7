import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { NASTY_STRINGS, pathArb, segmentArb } from '../arbitraries.js'
import { type Capabilities, gatedIt } from '../gate.js'
import { byteOrder, mustReturnPromise, rejection, setup, thrown } from '../harness.js'
import { entrySize } from '../sizes.js'
import type { ConformanceTarget } from '../target.js'

/** Whether `path` lies strictly below `ancestor`. */
const isBelow = (path: readonly string[], ancestor: readonly string[]) =>
  path.length > ancestor.length && ancestor.every((segment, i) => path[i] === segment)

const BAD_KEYS: Array<[string, unknown]> = [
  ['the empty string', ''],
  ['a lone high surrogate', '\uD800'],
  ['a lone low surrogate inside text', 'a\uDC00b'],
  ['a number', 5],
  ['null', null],
  ['undefined', undefined],
  ['an object', { key: 'x' }],
  ['an object without a prototype (String() throws)', Object.create(null)],
  [
    'an object whose toString throws',
    {
      toString: () => {
        throw new Error('no string for you')
      },
    },
  ],
  ['a symbol', Symbol('k')],
  ['1025 UTF-8 bytes', 'k'.repeat(1025)],
  ['342 three-byte characters (1026 bytes)', '€'.repeat(342)],
]

/** Registers the keys and scope isolation tests for `target`. */
export function keysGroup(target: ConformanceTarget, capabilities: Capabilities): void {
  describe('keys', () => {
    it('accepts any well-formed key, including separators, escapes, globs, NUL and astral characters', async () => {
      const { cubby } = await setup(target)
      const store = cubby.scope('keys')
      const keys = [...NASTY_STRINGS, 'k'.repeat(1024), '€'.repeat(341), '😀'.repeat(256)]
      for (const key of keys) await store.set(key, key)
      for (const key of keys) expect(await store.get(key)).toBe(key)
      const listed: string[] = []
      for await (const key of store.keys()) listed.push(key)
      expect(listed).toEqual([...new Set(keys)].sort(byteOrder))
    })

    it('round-trips random keys (property)', async () => {
      const { cubby } = await setup(target)
      const store = cubby.scope('random-keys')
      await fc.assert(
        fc.asyncProperty(segmentArb, fc.integer(), async (key, value) => {
          await store.set(key, value)
          expect(await store.get(key)).toBe(value)
          expect(await store.has(key)).toBe(true)
          const page = await store.list({ prefix: key, limit: 1 })
          expect(page.entries[0]?.key).toBe(key)
          expect(await store.delete(key)).toBe(true)
        }),
        { numRuns: 60 },
      )
    })

    it.each(BAD_KEYS)('rejects %s with InvalidKeyError on every call, writing nothing', async (_name, key) => {
      const { cubby, backdoor } = await setup(target)
      const store = cubby.scope('bad-keys')
      const k = key as string
      const calls: Array<[string, () => Promise<unknown>]> = [
        ['get', () => store.get(k)],
        ['getEntry', () => store.getEntry(k)],
        ['has', () => store.has(k)],
        ['set', () => store.set(k, 1)],
        ['delete', () => store.delete(k)],
        ['update', () => store.update(k, () => 1)],
        ['incr', () => store.incr(k)],
        ['getMany', () => store.getMany(['ok', k])],
        [
          'setMany',
          () =>
            store.setMany([
              ['ok', 1],
              [k, 2],
            ]),
        ],
        ['deleteMany', () => store.deleteMany(['ok', k])],
        ['atomic', () => store.atomic().set('ok', 1).set(k, 2).commit()],
      ]
      for (const [name, call] of calls) {
        const error = await rejection(mustReturnPromise(call, name))
        expect(error.code, name).toBe('INVALID_KEY')
        expect(error.name).toBe('InvalidKeyError')
      }
      expect(await backdoor.count(['bad-keys'])).toBe(0)
    })

    it('respects limits.maxKeyBytes', async () => {
      const { cubby } = await setup(target, { limits: { maxKeyBytes: 8 } })
      const store = cubby.scope('small')
      await store.set('12345678', 1)
      await store.set('€€', 2) // 6 bytes
      expect((await rejection(store.set('123456789', 1))).code).toBe('INVALID_KEY')
      expect((await rejection(store.set('€€€', 1))).code).toBe('INVALID_KEY') // 9 bytes
      expect(thrown(() => cubby.scope('123456789')).code).toBe('INVALID_SCOPE')
    })
  })

  describe('scope isolation', () => {
    it('no two distinct paths share data (property, adversarial segments)', async () => {
      const { cubby } = await setup(target)
      await fc.assert(
        fc.asyncProperty(pathArb, pathArb, segmentArb, async (a, b, key) => {
          fc.pre(JSON.stringify(a) !== JSON.stringify(b))
          const storeA = cubby.scope(...a)
          const storeB = cubby.scope(...b)
          const below = isBelow(a, b)
          try {
            await storeA.set(key, 'A')
            expect(await storeB.get(key)).toBeUndefined()
            expect(await storeB.has(key)).toBe(false)
            expect((await storeB.list()).entries).toEqual([])
            expect((await storeB.scopes()).names).toEqual(below ? [a[b.length]] : [])
            await storeB.set(key, 'B')
            expect(await storeB.clear()).toBe(1)
            expect(await storeA.get(key)).toBe('A')
            await storeB.set(key, 'B')
            await storeB.drop() // removes A's data only when A lies below B
            expect(await storeB.get(key)).toBeUndefined()
            expect(await storeA.get(key)).toBe(below ? undefined : 'A')
          } finally {
            await cubby.scope().drop() // every run starts empty
          }
        }),
        { numRuns: 60 },
      )
    })

    gatedIt(
      capabilities,
      ['quotas'],
      'usage() of one path counts another’s data only below it (property)',
      async () => {
        const { cubby } = await setup(target)
        await fc.assert(
          fc.asyncProperty(pathArb, pathArb, segmentArb, async (a, b, key) => {
            fc.pre(JSON.stringify(a) !== JSON.stringify(b))
            const size = { keys: 1, bytes: entrySize(key, 'A') }
            try {
              await cubby.scope(...a).set(key, 'A')
              expect(await cubby.scope(...a).usage()).toEqual(size)
              expect(await cubby.scope(...b).usage()).toEqual(isBelow(a, b) ? size : { keys: 0, bytes: 0 })
            } finally {
              await cubby.scope().drop()
            }
          }),
          { numRuns: 40 },
        )
      },
    )

    it('keeps look-alike paths apart', async () => {
      const { cubby } = await setup(target)
      const paths = [
        ['a', 'b'],
        ['a/b'],
        ['a%2Fb'],
        ['a%252Fb'],
        ['a:b'],
        ['a', 'b', 'c'],
        ['a\u0000b'],
        ['ab'],
        ['a'],
        ['*'],
        ['..'],
        ['{a}', 'b'],
        ['a', '{b}'],
        [],
      ]
      for (const [i, path] of paths.entries()) await cubby.scope(...path).set('k', i)
      for (const [i, path] of paths.entries()) {
        const store = cubby.scope(...path)
        expect(await store.get('k')).toBe(i)
        expect((await store.list()).entries.map((e) => e.value)).toEqual([i])
      }
    })

    it('rejects bad segments synchronously with InvalidScopeError', async () => {
      const { cubby } = await setup(target)
      for (const bad of ['', '\uD800', 5, null, 'x'.repeat(1025), Object.create(null), Symbol('s')]) {
        expect(thrown(() => cubby.scope(bad as string)).code).toBe('INVALID_SCOPE')
        expect(thrown(() => cubby.scope('ok').scope(bad as string)).code).toBe('INVALID_SCOPE')
      }
      const deep = cubby.scope('1', '2', '3', '4', '5', '6', '7', '8')
      await deep.set('k', 'deep')
      expect(await deep.get('k')).toBe('deep')
      expect(thrown(() => deep.scope('9')).code).toBe('INVALID_SCOPE')
      expect(thrown(() => cubby.scope('1', '2', '3', '4', '5', '6', '7', '8', '9')).name).toBe('InvalidScopeError')
    })

    it('clear() removes only the scope’s own keys; drop() removes its subtree and nothing else', async () => {
      const { cubby, backdoor } = await setup(target)
      const layout: string[][] = [['a'], ['a', 'b'], ['a', 'b', 'c'], ['ab'], ['a/b'], ['a%2Fb'], ['b'], ['b', 'a'], []]
      const fill = async () => {
        for (const path of layout) await cubby.scope(...path).setMany({ one: 1, two: 2 })
      }
      await fill()
      expect(await cubby.scope('a').clear()).toBe(2)
      expect(await backdoor.count(['a'])).toBe(0)
      for (const path of layout.slice(1)) expect(await backdoor.count(path), JSON.stringify(path)).toBe(2)
      expect(await cubby.scope('a').clear()).toBe(0)
      await fill()
      await cubby.scope('a').drop()
      for (const path of [['a'], ['a', 'b'], ['a', 'b', 'c']]) {
        expect(await backdoor.count(path)).toBe(0)
        expect((await cubby.scope(...path).list()).entries).toEqual([])
      }
      for (const path of [['ab'], ['a/b'], ['a%2Fb'], ['b'], ['b', 'a'], []]) {
        expect(await backdoor.count(path), JSON.stringify(path)).toBe(2)
      }
      await cubby.scope().drop()
      for (const path of layout) expect(await backdoor.count(path)).toBe(0)
    })
  })
}
