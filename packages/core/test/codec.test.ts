import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { numberCodec } from '../src/backend/index.js'
import { Codec } from '../src/codec/codec.js'

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

  it('refuses sparse arrays rather than changing them', () => {
    // biome-ignore lint/suspicious/noSparseArray: the point of the test
    expect(() => codec.encode({ list: [1, , 3] })).toThrow(/sparse array \(a hole\) at value.list\[1\]/)
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

  it('round-trips arbitrary values with special types (property)', () => {
    const special = fc.anything({
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
        fc.pre(value !== undefined && !(value instanceof Date && Number.isNaN(value.getTime())))
        let encoded: Uint8Array
        try {
          encoded = codec.encode(value)
        } catch (error) {
          // Documented refusals: invalid Dates, and (superjson) __proto__/constructor/prototype keys on the path to a
          // special value. Anything else that fails is a bug.
          fc.pre(!/prototype pollution|an invalid Date/.test((error as Error).message))
          throw error
        }
        expect(codec.decode(encoded)).toStrictEqual(value)
      }),
      { numRuns: 1000 },
    )
  })
})

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
