import { randomBytes } from 'node:crypto'

let last = 0

/**
 * A key that sorts by creation time (keys list in UTF-8 byte order): zero-padded base-36 milliseconds, then random
 * bytes so that keys made by different processes in the same millisecond differ. Within a process the time part
 * always increases (a burst borrows the next milliseconds), so its keys keep their creation order.
 */
export function timeOrderedId(now = Date.now()): string {
  last = Math.max(now, last + 1)
  return `${last.toString(36).padStart(10, '0')}-${randomBytes(4).toString('hex')}`
}

/** A `limit` query parameter: an integer in [1, max], else `fallback`. */
export function pageLimit(query: URLSearchParams, fallback = 50, max = 500): number {
  const n = Number(query.get('limit'))
  return Number.isInteger(n) && n >= 1 ? Math.min(n, max) : fallback
}
