/**
 * Descriptions of untrusted values for error messages. They never call a value's own conversions (`toString`,
 * `Symbol.toPrimitive`): those may throw or lie.
 */

/** Longest string shown in a description; longer ones are cut with `…`. */
const MAX_SHOWN_CHARS = 40

/**
 * A short description of `value`: strings quoted (cut after 40 characters), numbers, booleans, `null` and
 * `undefined` as written, bigints with their `n`, anything else by its type with an article ("an object").
 */
export function describe(value: unknown): string {
  if (typeof value === 'string') {
    return JSON.stringify(value.length > MAX_SHOWN_CHARS ? `${value.slice(0, MAX_SHOWN_CHARS)}…` : value)
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value)
  if (typeof value === 'bigint') return `${value}n`
  return article(typeof value)
}

/** `word` with its indefinite article: "an object", "a symbol", "an Int8Array", "a Uint8Array". */
export function article(word: string): string {
  // "U" as in "Uint8Array"/"unnamed" reads "you": a consonant sound.
  return /^[aeiouAEIO]/.test(word) ? `an ${word}` : `a ${word}`
}
