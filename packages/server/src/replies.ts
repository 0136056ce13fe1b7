import { InvalidConfigError } from '@cubby/core'
import type { StoredEntry } from '@cubby/core/backend'

/** Bytes of a frame header (`u8 kind | u32 id`) before a RESULT body. */
export const RESULT_HEADER_BYTES = 5

/**
 * A read whose answer would not fit in one frame of the server's `maxFrameBytes`: nothing was sent, and the client
 * should ask for less (fewer keys per GET, a smaller `limit` or a `maxBytes` per LIST page). Code `INVALID_CONFIG`
 * with the request field to change; `size` and `limit` say by how much it was over.
 */
export class ReplyTooLargeError extends InvalidConfigError {
  override readonly name = 'ReplyTooLargeError'

  constructor(
    field: string,
    /** Bytes the answer would have taken (at least; a LIST page cut by the server's budget may be larger). */
    readonly size: number,
    /** The server's `maxFrameBytes`. */
    readonly limit: number,
    advice: string,
  ) {
    super(field, `the answer would be ${size} bytes or more, over the server's maxFrameBytes of ${limit}; ${advice}`)
  }
}

function utf8(text: string): number {
  return Buffer.byteLength(text, 'utf8')
}

/** Encoded size of one entry as `writeEntry` writes it (without its key). */
export function entryBytes(entry: StoredEntry): number {
  return (
    1 +
    4 +
    utf8(entry.version) +
    (entry.expiresAt === undefined ? 0 : 8) +
    (entry.value ? 4 + entry.value.byteLength : 0)
  )
}

/** Encoded size of a GET RESULT body. */
export function getResultBytes(entries: readonly (StoredEntry | undefined)[]): number {
  let size = 4
  for (const entry of entries) size += entry ? 1 + entryBytes(entry) : 1
  return size
}

/** Encoded size of a LIST RESULT body. */
export function listResultBytes(entries: readonly StoredEntry[]): number {
  let size = 4
  for (const entry of entries) size += 4 + utf8(entry.key) + entryBytes(entry)
  return size
}

/**
 * Throws `ReplyTooLargeError` when a RESULT with a body of `bodyBytes` would exceed `maxFrameBytes`.
 */
export function checkReply(field: string, bodyBytes: number, maxFrameBytes: number, advice: string): void {
  const size = RESULT_HEADER_BYTES + bodyBytes
  if (size > maxFrameBytes) throw new ReplyTooLargeError(field, size, maxFrameBytes, advice)
}

/**
 * The GET keys without repeats, and for each requested key its index among them: a key named many times is read
 * once and its entry shared, so repeating a key does not multiply what the backend reads.
 */
export function uniqueKeys(keys: readonly string[]): { unique: string[]; index: number[] } {
  const at = new Map<string, number>()
  const unique: string[] = []
  const index = keys.map((key) => {
    let i = at.get(key)
    if (i === undefined) {
      i = unique.length
      at.set(key, i)
      unique.push(key)
    }
    return i
  })
  return { unique, index }
}
