import fc from 'fast-check'

/** Strings that tend to break encodings: separators, escapes, globs, NUL, dots, astral and private-use characters. */
export const NASTY_STRINGS = [
  '/',
  '//',
  '%',
  '%2F',
  '%25',
  ':',
  '::',
  '*',
  '?',
  '[a]',
  '{tag}',
  '}{',
  '\\',
  '\u0000',
  'a\u0000b',
  '..',
  '.',
  ' ',
  '\n',
  '😀',
  '\uE000',
  '\uFFFF',
  '\u{10FFFF}',
  'a/b',
  'a:b',
  'a',
  'ab',
  'A',
  'é',
  'e\u0301',
]

/** A valid key or segment: non-empty, well-formed, made of nasty characters or any Unicode. */
export const segmentArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...NASTY_STRINGS),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }).filter((s) => s.isWellFormed()),
  fc
    .array(fc.constantFrom('/', '%', ':', '*', '\u0000', 'a', '😀', '\uE000', '{', '}', '2F', '25'), {
      minLength: 1,
      maxLength: 6,
    })
    .map((parts) => parts.join('')),
)

/** A scope path of 0..4 segments. */
export const pathArb: fc.Arbitrary<string[]> = fc.array(segmentArb, { maxLength: 4 })
