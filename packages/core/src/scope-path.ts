/**
 * Injective text encoding of scope paths, for backends that need one string per scope. Each segment escapes `%` as
 * `%25` and `/` as `%2F`, and segments are joined by `/`. The root is `''`. Because `/` never appears inside an
 * encoded segment, distinct paths give distinct strings, and the descendants of a non-root scope `s` are exactly the
 * encodings that start with `s + '/'`.
 */
export function encodeScopePath(path: readonly string[]): string {
  let out = ''
  for (let i = 0; i < path.length; i++) {
    const segment = path[i]!
    const escaped =
      segment.includes('%') || segment.includes('/') ? segment.replace(/%/g, '%25').replace(/\//g, '%2F') : segment
    out = i === 0 ? escaped : `${out}/${escaped}`
  }
  return out
}

/** Inverse of `encodeScopePath`. */
export function decodeScopePath(encoded: string): string[] {
  if (encoded === '') return []
  return encoded.split('/').map((segment) => segment.replace(/%(25|2F)/g, (match) => (match === '%25' ? '%' : '/')))
}

/** Whether `path` equals `ancestor` or lies below it. */
export function isWithin(path: readonly string[], ancestor: readonly string[]): boolean {
  if (path.length < ancestor.length) return false
  for (let i = 0; i < ancestor.length; i++) if (path[i] !== ancestor[i]) return false
  return true
}
