import { Codec, type CustomType } from '@cubby/core'
import { describe, expect, it } from 'vitest'
import { rejection, setup } from '../harness.js'
import type { ConformanceTarget } from '../target.js'

const cyclic = () => {
  const node: Record<string, unknown> = { name: 'loop', missing: undefined }
  node.self = node
  return node
}

/** Values that must come back with their types. `check` adds assertions toStrictEqual cannot make. */
const ROUND_TRIPS: Array<[string, () => unknown, ((got: unknown) => void)?]> = [
  ['an integer stays a number', () => 9, (got) => expect(typeof got).toBe('number')],
  ['a float', () => -1.5],
  ['zero', () => 0],
  ['-0', () => -0, (got) => expect(Object.is(got, -0)).toBe(true)],
  ['NaN', () => Number.NaN, (got) => expect(Number.isNaN(got)).toBe(true)],
  ['Infinity', () => Number.POSITIVE_INFINITY],
  ['-Infinity', () => Number.NEGATIVE_INFINITY],
  ['MAX_SAFE_INTEGER', () => Number.MAX_SAFE_INTEGER],
  ['the smallest subnormal', () => 5e-324],
  ['the largest double', () => Number.MAX_VALUE],
  ['a string', () => 'hello'],
  ['the empty string', () => ''],
  ['a string of digits stays a string', () => '9', (got) => expect(typeof got).toBe('string')],
  ['unicode text with NUL and astral characters', () => 'a\u0000é😀\uE000\u{10FFFF}'],
  ['a string holding a lone surrogate', () => 'x\uD800y'],
  ['true', () => true],
  ['false', () => false],
  ['null', () => null],
  ['an array', () => [1, 'a', null, [2, [3]], { b: false }]],
  ['an empty array', () => []],
  ['an empty object', () => ({})],
  ['nested objects', () => ({ a: 1, b: { c: 'x', d: [{ e: null }] } })],
  [
    'undefined inside objects and arrays',
    () => ({ a: undefined, b: [undefined, 1] }),
    (got) => expect(Object.keys(got as object)).toEqual(['a', 'b']),
  ],
  ['a Date', () => new Date('2020-02-29T12:34:56.789Z')],
  [
    'a Map with non-string keys',
    () =>
      new Map<unknown, unknown>([
        ['a', 1],
        [2, { x: new Date(0) }],
      ]),
  ],
  ['a Set', () => new Set([1, 'a', null])],
  ['a BigInt', () => 12345678901234567890123n],
  ['a negative BigInt', () => -5n],
  ['a RegExp with flags', () => /a+b[c-d]\//giu],
  ['special types nested in each other', () => ({ d: [new Date(1)], m: new Map([[1n, new Set([Number.NaN, -0])]]) })],
  ['a Uint8Array', () => new Uint8Array([0, 1, 127, 128, 255])],
  ['a Buffer stays a Buffer', () => Buffer.from('hello bytes'), (got) => expect(Buffer.isBuffer(got)).toBe(true)],
  ['a Uint8Array stays a Uint8Array', () => new Uint8Array([1]), (got) => expect(Buffer.isBuffer(got)).toBe(false)],
  ['empty bytes', () => new Uint8Array(0)],
  ['bytes nested in an object', () => ({ file: new Uint8Array([9, 8, 7]), meta: { name: 'a.bin', at: new Date(5) } })],
  ['bytes in an array', () => [Buffer.from('a'), new Uint8Array([2]), 'text']],
  ['bytes inside a Map', () => new Map([['k', Buffer.from([1, 2])]])],
  ['an object with an own __proto__ key', () => JSON.parse('{"__proto__": {"x": 1}, "y": 2}')],
  ['a constructor key beside a Date', () => ({ constructor: 'Williams', since: new Date(0) })],
  ['a constructor key nested, a BigInt elsewhere', () => ({ words: { constructor: 3, hello: 1 }, total: 4n })],
  ['a prototype key beside a Map', () => ({ prototype: 1, m: new Map([['prototype', { constructor: 2 }]]) })],
  ['a constructor key beside bytes', () => ({ constructor: 'x', file: new Uint8Array([1, 2]) })],
  [
    'an own __proto__ key beside a Date, read back as an own key',
    () => Object.assign(JSON.parse('{"__proto__": {"polluted": true}}'), { at: new Date(1) }),
    (got) => {
      expect(Object.keys(got as object)).toEqual(['__proto__', 'at'])
      expect(Object.getPrototypeOf(got)).toBe(Object.prototype)
      expect(({} as { polluted?: unknown }).polluted).toBeUndefined()
    },
  ],
  [
    'keys that look escaped (~constructor) beside undefined',
    // (`constructor` holds a primitive: toStrictEqual compares `constructor` properties by identity)
    () => ({ '~constructor': 1, '~~prototype': [undefined], constructor: 'c', nested: { prototype: new Set([1]) } }),
  ],
  [
    'a getter that changes type between reads, stored as its one read',
    () => {
      let reads = 0
      return {
        get x() {
          return reads++ === 0 ? 1 : 10n
        },
      }
    },
    (got) => expect(got).toStrictEqual({ x: 1 }),
  ],
  ['a cyclic structure', cyclic, (got) => expect((got as { self: unknown }).self).toBe(got)],
  ['a deeply nested array', () => JSON.parse(`${'['.repeat(500)}1${']'.repeat(500)}`)],
  ['an object with 5000 keys', () => Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, i]))],
]

/** Values that cannot be stored, with the reason. */
const UNSTORABLE: Array<[string, () => unknown]> = [
  ['a function', () => () => 1],
  ['a symbol', () => Symbol('s')],
  ['a class instance', () => new (class Point {})()],
  ['a class instance nested in an array', () => ({ list: [1, new (class Widget {})()] })],
  ['a function inside a Map', () => new Map([['f', () => 1]])],
  ['a WeakMap', () => new WeakMap()],
  ['a Promise', () => Promise.resolve(1)],
  ['a Float64Array', () => new Float64Array([1.5])],
  ['an invalid Date', () => new Date(Number.NaN)],
  ['undefined at the top level', () => undefined],
  [
    'a getter that throws',
    () => ({
      get x(): number {
        throw new Error('no value for you')
      },
    }),
  ],
  [
    'a Proxy whose ownKeys trap throws',
    () =>
      new Proxy(
        {},
        {
          ownKeys() {
            throw new Error('trap')
          },
        },
      ),
  ],
]

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

const POINT: CustomType<Point> = {
  name: 'Point',
  isApplicable: (value): value is Point => value instanceof Point,
  serialize: (point) => ({ x: point.x, y: point.y }),
  deserialize: (json) => {
    const { x, y } = json as { x: number; y: number }
    return new Point(x, y)
  },
}

/** Registers the values tests for `target`. */
export function valuesGroup(target: ConformanceTarget): void {
  describe('values round-trip with their types', () => {
    it.each(ROUND_TRIPS)('%s', async (_name, make, check) => {
      const { cubby } = await setup(target)
      const store = cubby.scope('values')
      await store.set('k', make())
      const got = await store.get('k')
      expect(got).toStrictEqual(make())
      check?.(got)
      const [many] = await store.getMany(['k'])
      expect(many).toStrictEqual(make())
      const { entries } = await store.list()
      expect(entries[0]?.value).toStrictEqual(make())
    })

    it('stores bytes raw, not inflated (backdoor: stored size)', async () => {
      const { cubby, backdoor } = await setup(target)
      const store = cubby.scope('bytes')
      const blob = new Uint8Array(64 * 1024).map((_, i) => (i * 7919) % 256)
      await store.set('top', blob)
      await store.set('nested', { name: 'x.bin', blob })
      expect((await backdoor.read(['bytes'], 'top'))!.value.byteLength).toBeLessThanOrEqual(blob.length + 16)
      expect((await backdoor.read(['bytes'], 'nested'))!.value.byteLength).toBeLessThanOrEqual(blob.length + 200)
      expect(await store.get('nested')).toStrictEqual({ name: 'x.bin', blob })
    })

    it('returns a fresh copy on every read, and keeps no reference to what was written', async () => {
      const { cubby } = await setup(target)
      const store = cubby.scope('copies')
      const original = { list: [1, 2], bytes: new Uint8Array([1, 2, 3]), map: new Map([['a', 1]]) }
      await store.set('k', original)
      original.list.push(99)
      original.bytes[0] = 42
      original.map.set('b', 2)
      const first = (await store.get('k')) as typeof original
      expect(first).toStrictEqual({ list: [1, 2], bytes: new Uint8Array([1, 2, 3]), map: new Map([['a', 1]]) })
      first.list.push(100)
      first.bytes[1] = 77
      const second = (await store.get('k')) as typeof original
      expect(second).not.toBe(first)
      expect(second.list).toEqual([1, 2])
      expect(second.bytes[1]).toBe(2)
      const raw = new Uint8Array([5, 6])
      await store.set('raw', raw)
      raw[0] = 0
      expect(await store.get('raw')).toStrictEqual(new Uint8Array([5, 6]))
    })

    it('set is a full replacement, never a merge', async () => {
      const { cubby } = await setup(target)
      const store = cubby.scope('replace')
      await store.set('k', { a: 1, b: { c: 2, d: 3 } })
      await store.set('k', { b: { c: 4 } })
      expect(await store.get('k')).toStrictEqual({ b: { c: 4 } })
    })

    it('get(key, fallback) returns the fallback only when absent', async () => {
      const { cubby } = await setup(target)
      const store = cubby.scope('fallback')
      expect(await store.get('missing', 'dflt')).toBe('dflt')
      await store.set('present', null)
      expect(await store.get('present', 'dflt')).toBeNull()
      await store.set('zero', 0)
      expect(await store.get('zero', 5)).toBe(0)
    })

    it.each(UNSTORABLE)(
      'rejects %s with SerializationError (INVALID_VALUE) and writes nothing',
      async (_name, make) => {
        const { cubby, backdoor } = await setup(target)
        const store = cubby.scope('bad')
        await store.set('existing', 'before')
        for (const key of ['existing', 'fresh']) {
          const error = await rejection(store.set(key, make()))
          expect(error.name).toBe('SerializationError')
          expect(error.code).toBe('INVALID_VALUE')
          expect(error.message.length).toBeGreaterThan(20)
        }
        expect(await store.get('existing')).toBe('before')
        expect(await backdoor.read(['bad'], 'fresh')).toBeUndefined()
        expect(await backdoor.count(['bad'])).toBe(1)
      },
    )

    it('names where the unstorable part is', async () => {
      const { cubby } = await setup(target)
      const error = await rejection(cubby.scope('bad').set('k', { deep: { list: [0, () => 1] } }))
      expect(error.message).toContain('deep.list[1]')
    })

    it('stores instances of registered custom types, and fails clearly where the type is not registered', async () => {
      const env = await setup(target, { types: [POINT] })
      const store = env.cubby.scope('custom')
      await store.set('p', { at: new Point(1, 2), list: [new Point(3, 4)] })
      const got = (await store.get('p')) as { at: Point; list: Point[] }
      expect(got.at).toBeInstanceOf(Point)
      expect(got).toStrictEqual({ at: new Point(1, 2), list: [new Point(3, 4)] })
      const plain = await env.reopen({ types: [] })
      const error = await rejection(plain.scope('custom').get('p'))
      expect(error.code).toBe('INVALID_VALUE')
      expect(error.message).toMatch(/custom type|register/i)
    })

    it('stores exactly the bytes the codec produces (backdoor)', async () => {
      const { cubby, backdoor } = await setup(target)
      const value = { n: 1, when: new Date(7), bytes: new Uint8Array([1]) }
      await cubby.scope('codec').set('k', value)
      const stored = await backdoor.read(['codec'], 'k')
      expect(Buffer.from(stored!.value)).toEqual(Buffer.from(new Codec().encode(value)))
    })
  })
}
