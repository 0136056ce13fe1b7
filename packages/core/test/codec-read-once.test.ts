import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { numberCodec } from '../src/backend/index.js'
import { Codec } from '../src/codec/codec.js'
import { openCubby } from '../src/index.js'
import { rawScope } from '../src/raw/index.js'

const codec = new Codec()

/** An object whose property `x` answers `first` on the first read and `later` on every read after. */
function changing(first: unknown, later: unknown): { x: unknown } {
  let reads = 0
  return {
    get x() {
      return reads++ === 0 ? first : later
    },
  }
}

/** The error `fn` throws. */
function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn()
  } catch (error) {
    return error as Error & { code?: string }
  }
  throw new Error('expected a throw')
}

describe('codec: values that change while read are stored as read, once', () => {
  it('keeps what the first read gave, whatever later reads give', () => {
    const cases: [unknown, unknown][] = [
      [1, Number.NaN],
      ['2024-01-01T00:00:00.000Z', new Date(0)],
      [-0, 0],
      [0, -0],
      [1, () => 1],
      [1, Symbol('s')],
      ['a', undefined],
      [1, 10n],
    ]
    for (const [first, later] of cases) {
      const back = codec.decode(codec.encode(changing(first, later))) as { x: unknown }
      expect(Object.is(back.x, first), `${String(first)} then ${String(later)}`).toBe(true)
      expect(Object.keys(back)).toEqual(['x'])
    }
  })

  it('reads every property exactly once, nested too (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (inner) => {
        let reads = 0
        const value = {
          a: [
            {
              get b() {
                reads++
                return inner
              },
            },
          ],
        }
        codec.encode(value)
        expect(reads).toBe(1)
      }),
      { numRuns: 100 },
    )
  })

  it('refuses, naming the path, when the one read gives something unstorable', () => {
    expect(() => codec.encode(changing(() => 1, 1))).toThrow(/cannot store a function at value\.x/)
  })

  it('the stored value of a set() through a store is what was read once', async () => {
    const cubby = await openCubby({ url: 'memory:' })
    const store = cubby.scope('w', 'p')
    await store.set('k', changing(1, Number.NaN))
    expect(await store.get('k')).toEqual({ x: 1 })
    await cubby.close()
  })
})

describe('codec: one rule for what a value is', () => {
  it('stores own enumerable string-keyed properties and elements; nothing else an object carries', () => {
    const symbol = Symbol('s')
    const list = Object.assign([1, 2], { extra: 'x', [symbol]: 1 })
    const date = Object.assign(new Date(5), { note: 'n' })
    const map = Object.assign(new Map([[1, 2]]), { note: 'n' })
    const record = { a: 1, [symbol]: 2 }
    Object.defineProperty(record, 'hidden', { value: 3, enumerable: false })
    expect(codec.decode(codec.encode({ list, record }))).toStrictEqual({ list: [1, 2], record: { a: 1 } })
    expect(codec.decode(codec.encode({ date, map }))).toStrictEqual({ date: new Date(5), map: new Map([[1, 2]]) })
  })

  it('says "an" before a vowel', () => {
    expect(thrown(() => codec.encode({ a: new Int8Array(1) })).message).toMatch(/cannot store an Int8Array at value\.a/)
    expect(thrown(() => codec.encode({ a: new Float32Array(1) })).message).toMatch(/cannot store a Float32Array/)
  })
})

describe('codec: stored JSON text that does not parse', () => {
  const bad = ['{oops', '0x10', '00012', '[1,]', 'NaN', '', '{"a":1}x']

  it('is an InvalidValueError, not a SyntaxError', () => {
    for (const text of bad) {
      const error = thrown(() => codec.decode(Buffer.from(`\x01j${text}`, 'latin1')))
      expect(error.name, text).toBe('InvalidValueError')
      expect(error.code).toBe('INVALID_VALUE')
    }
  })

  it('is not a number to incr', () => {
    for (const text of bad) expect(numberCodec.read(Buffer.from(`\x01j${text}`, 'latin1')), text).toBeUndefined()
    expect(numberCodec.read(Buffer.from('\x01j-1.5e3', 'latin1'))).toBe(-1500)
  })

  it('rejects get, getEntry, update, list and incr with InvalidValueError through a store', async () => {
    const cubby = await openCubby({ url: 'memory:' })
    const store = cubby.scope('w', 'p')
    await rawScope(store).write({ ops: [{ type: 'set', key: 'k', value: Buffer.from('\x01j{oops', 'latin1') }] })
    const calls: [string, () => Promise<unknown>][] = [
      ['get', () => store.get('k')],
      ['getEntry', () => store.getEntry('k')],
      ['update', () => store.update('k', () => 1)],
      ['list', () => store.list()],
      ['incr', () => store.incr('k')],
    ]
    for (const [name, call] of calls) {
      await expect(call(), name).rejects.toMatchObject({ name: 'InvalidValueError', code: 'INVALID_VALUE' })
    }
    await cubby.close()
  })
})
