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

/** Segments and keys at or near the default limit of 1024 UTF-8 bytes, in 1-, 2-, 3- and 4-byte characters. */
export const LONG_STRINGS = [
  'k'.repeat(1024),
  `${'€'.repeat(341)}k`,
  '😀'.repeat(256),
  'é'.repeat(512),
  '/'.repeat(1024),
  '%'.repeat(1023),
  `${'a/'.repeat(511)}%`,
]

/**
 * A valid key or segment (at most 1024 UTF-8 bytes): non-empty, well-formed, made of nasty characters, any Unicode,
 * or very long.
 */
export const segmentArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...NASTY_STRINGS),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }).filter((s) => s.isWellFormed()),
  fc
    .array(fc.constantFrom('/', '%', ':', '*', '\u0000', 'a', '😀', '\uE000', '{', '}', '2F', '25'), {
      minLength: 1,
      maxLength: 6,
    })
    .map((parts) => parts.join('')),
  fc.constantFrom(...LONG_STRINGS),
  fc.string({ unit: fc.constantFrom('a', '/', '%', ':', '😀', '€', '\u0000'), minLength: 100, maxLength: 256 }),
)

/** A scope path of 0..8 segments (the deepest allowed). */
export const pathArb: fc.Arbitrary<string[]> = fc.array(segmentArb, { maxLength: 8 })
