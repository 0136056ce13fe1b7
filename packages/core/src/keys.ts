import { describe } from './describe.js'
import { InvalidKeyError, InvalidScopeError } from './errors.js'
import { assertStoragePath } from './layout.js'

export { MAX_SCOPE_DEPTH } from './layout.js'

/** UTF-8 length of a string in bytes. */
export function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8')
}

/** Why `text` is not a valid key or segment, or undefined when it is. Shared by keys and scope segments. */
function keyProblem(text: unknown, maxBytes: number): string | undefined {
  if (typeof text !== 'string') return `must be a string, got ${text === null ? 'null' : typeof text}`
  if (text.length === 0) return 'must not be empty'
  if (!text.isWellFormed()) return 'is not well-formed Unicode (it contains a lone surrogate)'
  // A UTF-16 unit encodes to at most 3 UTF-8 bytes, so short strings skip the exact count.
  if (text.length * 3 > maxBytes && utf8Length(text) > maxBytes) {
    return `is ${utf8Length(text)} UTF-8 bytes, over the limit of ${maxBytes} (limits.maxKeyBytes)`
  }
  return undefined
}

/** Whether `text` is a valid key (or segment) within `maxBytes` UTF-8 bytes. */
export function isValidKey(text: unknown, maxBytes: number): text is string {
  return keyProblem(text, maxBytes) === undefined
}

/** Throws `InvalidKeyError` unless `key` is a valid key. */
export function assertKey(key: unknown, maxBytes: number): asserts key is string {
  const problem = keyProblem(key, maxBytes)
  if (problem) throw new InvalidKeyError(`key ${describe(key)} ${problem}`)
}

/** Throws `InvalidScopeError` unless `segment` is a valid scope segment (or user id: `what` names it). */
export function assertSegment(segment: unknown, maxBytes: number, what = 'scope segment'): asserts segment is string {
  const problem = keyProblem(segment, maxBytes)
  if (problem) throw new InvalidScopeError(`${what} ${describe(segment)} ${problem}`)
}

/**
 * Validates segments appended to `base`, returning the new path. Segments are non-empty, so they can never name the
 * user level (`layout.ts`); the depth limit counts visible segments.
 */
export function extendPath(base: readonly string[], segments: readonly unknown[], maxBytes: number): string[] {
  const path = [...base]
  for (const segment of segments) {
    assertSegment(segment, maxBytes)
    path.push(segment)
  }
  assertStoragePath(path)
  return path
}

/**
 * Compares two well-formed strings in UTF-8 byte order (the same as code point order). JS `<` compares UTF-16
 * units, which puts astral characters (surrogate pairs, 0xD800-0xDFFF) before U+E000..U+FFFF; this fixes that.
 */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) return rank(x) - rank(y)
      return x - y
    }
  }
  return a.length - b.length
}

/** Orders UTF-16 units >= 0xD800 as their code points order: surrogates (astral) above U+E000..U+FFFF. */
function rank(unit: number): number {
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000
}
