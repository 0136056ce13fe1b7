import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { matchesQuery, prefixEnd } from '../src/backend/helpers.js'
import { compareKeys, extendPath } from '../src/keys.js'
import { decodeScopePath, encodeScopePath, isWithin } from '../src/scope-path.js'

const utf8 = (s: string) => Buffer.from(s, 'utf8')
const text = fc.string({ unit: 'binary', maxLength: 8 }).filter((s) => s.isWellFormed())

describe('compareKeys', () => {
  it('agrees with UTF-8 byte order (property)', () => {
    fc.assert(
      fc.property(text, text, (a, b) => {
        expect(Math.sign(compareKeys(a, b))).toBe(Math.sign(Buffer.compare(utf8(a), utf8(b))))
      }),
      { numRuns: 2000 },
    )
  })

  it('puts astral characters after U+E000..U+FFFF', () => {
    expect(compareKeys('😀', '\uFFFF')).toBeGreaterThan(0)
    expect(compareKeys('\uE000', '\u{10000}')).toBeLessThan(0)
  })
})

describe('prefixEnd', () => {
  it('bounds exactly the keys with the prefix (property)', () => {
    fc.assert(
      fc.property(text, text, (prefix, key) => {
        const end = prefixEnd(prefix)
        const inRange = compareKeys(key, prefix) >= 0 && (end === undefined || compareKeys(key, end) < 0)
        expect(inRange).toBe(key.startsWith(prefix))
        expect(matchesQuery(key, { prefix, reverse: false })).toBe(key.startsWith(prefix))
      }),
      { numRuns: 2000 },
    )
    expect(prefixEnd('\u{10FFFF}')).toBeUndefined()
    expect(prefixEnd('a\u{10FFFF}')).toBe('b')
    expect(prefixEnd('\uD7FF')).toBe('\uE000')
  })
})

describe('scope path encoding', () => {
  const segment = fc.oneof(
    text.filter((s) => s.length > 0),
    fc.constantFrom('/', '%', '%2F', '%25', 'a/b'),
  )
  it('is injective and reversible (property)', () => {
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 5 }), fc.array(segment, { maxLength: 5 }), (a, b) => {
        expect(decodeScopePath(encodeScopePath(a))).toEqual(a)
        if (JSON.stringify(a) !== JSON.stringify(b)) expect(encodeScopePath(a)).not.toBe(encodeScopePath(b))
        const descendant = encodeScopePath(b).startsWith(`${encodeScopePath(a)}/`) || (a.length === 0 && b.length > 0)
        expect(descendant).toBe(isWithin(b, a) && b.length > a.length)
      }),
      { numRuns: 2000 },
    )
  })

  it('limits depth and validates segments', () => {
    expect(extendPath([], ['a', 'b'], 10)).toEqual(['a', 'b'])
    expect(() => extendPath(['1', '2', '3', '4', '5', '6', '7'], ['8', '9'], 10)).toThrow(/at most 8/)
    expect(() => extendPath([], ['x'.repeat(11)], 10)).toThrow(/limits.maxKeyBytes/)
  })
})
