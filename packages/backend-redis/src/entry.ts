import type { StoredEntry } from '@cubby/core/backend'

const BAR = 0x7c // '|'

/** Parses an entry string `version|expiresAt|value` into a stored entry, or undefined when expired at `now`. */
export function parseEntry(key: string, entry: Buffer, now: number, values: boolean): StoredEntry | undefined {
  const a = entry.indexOf(BAR)
  const b = entry.indexOf(BAR, a + 1)
  const stored: StoredEntry = { key, version: entry.toString('latin1', 0, a) }
  if (b > a + 1) {
    const expiresAt = Number(entry.toString('latin1', a + 1, b))
    if (expiresAt <= now) return undefined
    stored.expiresAt = expiresAt
  }
  if (values) stored.value = entry.subarray(b + 1)
  return stored
}
