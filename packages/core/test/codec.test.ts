import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { numberCodec } from '../src/backend/index.js'
import { Codec, type CustomType, type JsonValue } from '../src/codec/codec.js'

const codec = new Codec()
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')

describe('codec format', () => {
  it('writes plain JSON as 0x01 "j" + JSON text', () => {
    expect(Buffer.from(codec.encode({ a: [1, 'x'] })).toString('latin1')).toBe('\x01j{"a":[1,"x"]}')
    expect(Buffer.from(codec.encode(42)).toString('latin1')).toBe('\x01j42')
  })

  it('writes non-JSON types through superjson as 0x01 "s"', () => {
    const bytes = codec.encode({ d: new Date(0) })
    expect(bytes[1]).toBe('s'.charCodeAt(0))
    expect(JSON.parse(Buffer.from(bytes).toString('utf8', 2)).meta.values).toEqual({ d: ['Date'] })
  })

  it('writes top-level bytes raw with a subtype byte', () => {
    expect(hex(codec.encode(new Uint8Array([0xaa, 0xbb])))).toBe('016200aabb')
    expect(hex(codec.encode(Buffer.from([0xaa])))).toBe('016201aa')
  })

  it('frames nested bytes after the superjson text', () => {
    const bytes = Buffer.from(codec.encode({ a: new Uint8Array([1, 2, 3]), b: Buffer.from([9]) }))
    expect(bytes[1]).toBe('m'.charCodeAt(0))
    const jsonLength = bytes.readUInt32BE(2)
    expect(bytes.readUInt32BE(6 + jsonLength)).toBe(2) // two blobs
    expect(hex(bytes.subarray(bytes.length - 6))).toBe('000000010109') // last blob: length 1, Buffer, 0x09
    expect(codec.decode(bytes)).toStrictEqual({ a: new Uint8Array([1, 2, 3]), b: Buffer.from([9]) })
  })

  it('stores a sparse array as its elements: a hole reads back as the undefined it reads as', () => {
    // biome-ignore lint/suspicious/noSparseArray: the point of the test
    const back = codec.decode(codec.encode({ list: [1, , 3] })) as { list: unknown[] }
    expect(back.list).toHaveLength(3)
    expect(back.list[1]).toBeUndefined()
    expect(back.list).toEqual([1, undefined, 3])
  })

  it('refuses data it does not understand instead of guessing', () => {
    for (const bad of [
      [2, 0x6a, 0x31],
      [1, 0x7a, 0x31],
      [1, 0x6d, 0, 0, 0, 99, 0x7b],
    ]) {
      expect(() => codec.decode(new Uint8Array(bad))).toThrow(expect.objectContaining({ code: 'INVALID_VALUE' }))
    }
  })

  it('round-trips arbitrary JSON-like data (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(codec.decode(codec.encode(value))).toStrictEqual(value)
      }),
      { numRuns: 300 },
    )
  })

  it('writes long text, ASCII or not, as the same bytes Buffer.from would (property)', () => {
    // Long text is written straight into its buffer, first at one byte per character: cover the fallback.
    const pieces = fc.constantFrom('a', '"', '\\', '\n', 'é', '€', '😀', '\ud800', 'x'.repeat(100))
    fc.assert(
      fc.property(fc.array(pieces, { minLength: 1, maxLength: 80 }), fc.nat(600), (parts, pad) => {
        const text = 'a'.repeat(pad) + parts.join('')
        for (const value of [text, { text }, { text, at: new Date(0) }]) {
          const bytes = Buffer.from(codec.encode(value))
          const kind = String.fromCharCode(bytes[1]!)
          if (kind === 'j') expect(bytes.equals(Buffer.from(`\x01j${JSON.stringify(value)}`))).toBe(true)
          expect(codec.decode(bytes)).toStrictEqual(value)
        }
      }),
      { numRuns: 300 },
    )
  })

  it('keeps shared objects and cycles shared, beyond the objects a walk tracks in arrays', () => {
    const shared = { s: 1 }
    const many = Array.from({ length: 100 }, (_, i) => ({ i, shared }))
    const plain = codec.decode(codec.encode({ many, last: shared })) as { many: { shared: unknown }[]; last: unknown }
    expect(plain.many[99]!.shared).toEqual({ s: 1 }) // JSON: shared objects are repeated
    const cyclic: Record<string, unknown> = { many }
    cyclic.self = cyclic
    const back = codec.decode(codec.encode(cyclic)) as { many: { shared: unknown }[]; self: unknown }
    expect(back.self).toBe(back)
    expect(back.many[0]!.shared).toBe(back.many[99]!.shared)
  })

  it('encodes a value a getter encodes while the outer value is being read', () => {
    let inner: Buffer | undefined
    const value = {
      a: [1, { b: 2 }],
      get x() {
        inner = codec.encode({ nested: [3, { c: 4 }] })
        return 'x'
      },
      c: { d: 5 },
    }
    expect(codec.decode(codec.encode(value))).toStrictEqual({ a: [1, { b: 2 }], x: 'x', c: { d: 5 } })
    expect(codec.decode(inner!)).toStrictEqual({ nested: [3, { c: 4 }] })
  })

  it('round-trips arbitrary values with special types, whatever their keys (property)', () => {
    // Keys superjson refuses, and keys that look like their escaped forms, are generated on purpose.
    const key = fc.oneof(
      fc.string({ maxLength: 6 }),
      fc.constantFrom('__proto__', 'constructor', 'prototype', '~constructor', '~~__proto__', '~prototype', '~'),
    )
    const special = fc.anything({
      key,
      withBigInt: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withNullPrototype: false,
      withTypedArray: false,
      withSparseArray: false,
      withObjectString: false,
      withBoxedValues: false,
    })
    fc.assert(
      fc.property(special, (value) => {
        // The only values refused by design: undefined as a whole, and invalid Dates (tested on their own below).
        fc.pre(value !== undefined && !hasInvalidDate(value))
        const decoded = codec.decode(codec.encode(value))
        expect(same(decoded, value), 'decodes to an equal value, own keys included').toBe(true)
      }),
      { numRuns: 1000 },
    )
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined()
  })

  it('stores objects with __proto__, constructor and prototype keys beside special types', () => {
    const values: unknown[] = [
      { constructor: 'Williams', since: new Date(0) },
      { words: { constructor: 3, hello: 1 }, total: 4n },
      { prototype: 1, m: new Map() },
      { constructor: 'x', file: new Uint8Array(2) },
      new Map([[{ constructor: 1 }, new Set([{ prototype: [new Date(1)] }])]]),
      { '~constructor': 1, '~~prototype': new Date(3), constructor: undefined },
    ]
    for (const value of values) expect(codec.decode(codec.encode(value))).toStrictEqual(value)
    const own = Object.assign(JSON.parse('{"__proto__": {"polluted": true}}'), { at: new Date(1) })
    const bytes = codec.encode(own)
    expect(String.fromCharCode(bytes[1]!)).toBe('S') // the escaped kind
    const decoded = codec.decode(bytes) as Record<string, unknown>
    expect(Object.keys(decoded)).toEqual(['__proto__', 'at'])
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype)
    expect(Object.getOwnPropertyDescriptor(decoded, '__proto__')?.value).toEqual({ polluted: true })
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined()
    const cyclic: Record<string, unknown> = { constructor: 1, when: new Date(0) }
    cyclic.self = cyclic
    const back = codec.decode(codec.encode(cyclic)) as Record<string, unknown>
    expect(back.self).toBe(back)
  })

  it('still decodes values written before key escaping existed, unchanged', () => {
    // An `s` value (format 1, written by any earlier version) whose key merely looks escaped keeps it.
    const old = Buffer.from(
      '\x01s{"json":{"~constructor":1,"d":"1970-01-01T00:00:00.000Z"},"meta":{"values":{"d":["Date"]},"v":1}}',
      'latin1',
    )
    expect(codec.decode(old)).toStrictEqual({ '~constructor': 1, d: new Date(0) })
  })

  it('leaves what custom types deserialize alone when unescaping', () => {
    class Box {
      constructor(readonly inner: Record<string, unknown>) {}
    }
    const plainBox: CustomType<Box> = {
      name: 'Box',
      isApplicable: (value): value is Box => value instanceof Box,
      serialize: (box) => box.inner as JsonValue,
      deserialize: (json) => json as never, // deserializes to a plain object on purpose
    }
    const typed = new Codec([plainBox])
    const value = { constructor: 'c', box: new Box({ '~prototype': 1 }) }
    expect(typed.decode(typed.encode(value))).toStrictEqual({ constructor: 'c', box: { '~prototype': 1 } })
  })

  it('turns errors the value throws while being read into SerializationError', () => {
    const throwing = {
      get x(): number {
        throw new TypeError('boom')
      },
    }
    const trap = new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error('trap')
        },
      },
    )
    for (const value of [throwing, trap, { list: [trap] }]) {
      expect(() => codec.encode(value)).toThrow(
        expect.objectContaining({ name: 'SerializationError', code: 'INVALID_VALUE' }),
      )
    }
    expect(() => codec.encode(new Map([[Object.create(null), () => 1]]))).toThrow(/at value\.get\(<object>\)/)
  })

  it('refuses values nested too deeply with a short message', () => {
    let deep: unknown = new Date(0)
    for (let i = 0; i < 5000; i++) deep = { a: deep }
    let message = ''
    try {
      codec.encode(deep)
    } catch (error) {
      expect((error as { code?: string }).code).toBe('INVALID_VALUE')
      message = (error as Error).message
    }
    expect(message).toMatch(/nested over 1000 levels deep/)
    expect(message.length).toBeLessThan(400)
  })
})

/** Whether a value holds an invalid Date anywhere (refused by design). */
function hasInvalidDate(value: unknown, seen = new Set<unknown>()): boolean {
  if (value instanceof Date) return Number.isNaN(value.getTime())
  if (typeof value !== 'object' || value === null || seen.has(value)) return false
  seen.add(value)
  const children =
    value instanceof Map
      ? [...value.keys(), ...value.values()]
      : value instanceof Set
        ? [...value]
        : Object.values(value)
  return children.some((child) => hasInvalidDate(child, seen))
}

/**
 * Structural equality that also compares own `__proto__` and `constructor` keys (toStrictEqual checks a
 * `constructor` property by identity and does not see an own `__proto__`), prototypes, -0, NaN and cycles.
 */
function same(a: unknown, b: unknown, pairs = new Map<object, object>()): boolean {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return Object.is(a, b)
  if (pairs.get(a) === b) return true
  pairs.set(a, b)
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false
  if (a instanceof Date) return a.getTime() === (b as Date).getTime()
  if (a instanceof RegExp) return String(a) === String(b)
  if (a instanceof Uint8Array) return Buffer.compare(a, b as Uint8Array) === 0
  if (a instanceof Map || a instanceof Set) {
    const x = [...a]
    const y = [...(b as Map<unknown, unknown> | Set<unknown>)]
    return x.length === y.length && x.every((item, i) => same(item, y[i], pairs))
  }
  const keys = Reflect.ownKeys(a)
  const other = Reflect.ownKeys(b)
  if (keys.length !== other.length || keys.some((key, i) => key !== other[i])) return false
  return keys.every((key) =>
    same(Object.getOwnPropertyDescriptor(a, key)?.value, Object.getOwnPropertyDescriptor(b, key)?.value, pairs),
  )
}

describe('numberCodec', () => {
  it('reads numbers in both kinds and nothing else', () => {
    expect(numberCodec.read(codec.encode(5))).toBe(5)
    expect(numberCodec.read(codec.encode(-2.5e-7))).toBe(-2.5e-7)
    expect(Object.is(numberCodec.read(codec.encode(-0)), -0)).toBe(true)
    expect(numberCodec.read(codec.encode(Number.NaN))).toBeNaN()
    for (const other of ['5', [5], { n: 5 }, null, true, new Date(5), new Uint8Array([5])]) {
      expect(numberCodec.read(codec.encode(other))).toBeUndefined()
    }
  })

  it('writes what set() would store', () => {
    for (const n of [0, 1, -1, 0.1, 1e21, Number.MAX_SAFE_INTEGER, -0, Number.POSITIVE_INFINITY]) {
      expect(hex(numberCodec.write(n))).toBe(hex(codec.encode(n)))
    }
  })
})
