import { inspect } from 'node:util'
import { usageError } from './exit-codes.js'

/**
 * How values are shown. Values that are plain JSON print as JSON. Other types print as Node's `util.inspect` does
 * (`Map(1) { 'a' => 1 }`, `10n`, `2025-01-01T00:00:00.000Z`), and bytes are written raw by `get`. `--json` output
 * uses tagged JSON for the types JSON lacks, for reading with jq — use `export` for an exact copy.
 */

/** Whether `value` survives `JSON.stringify` / `JSON.parse` unchanged. */
export function isPlainJson(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0)
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!(i in value) || !isPlainJson(value[i])) return false
    return true
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.values(value).every(isPlainJson)
  }
  return false
}

/** A value as text for people: JSON when it is plain JSON, else `util.inspect`. */
export function displayValue(value: unknown, pretty = false): string {
  if (isPlainJson(value)) return pretty ? JSON.stringify(value, null, 2) : JSON.stringify(value)
  return inspect(value, {
    depth: null,
    maxArrayLength: pretty ? null : 20,
    maxStringLength: pretty ? null : 200,
    breakLength: pretty ? 100 : Number.POSITIVE_INFINITY,
    compact: pretty ? 3 : true,
  })
}

/**
 * A value as JSON data. Types JSON lacks become one-key tagged objects: `{"$bytes": base64}`, `{"$date": iso}`,
 * `{"$bigint": "12"}`, `{"$number": "NaN" | "Infinity" | "-Infinity" | "-0"}`, `{"$map": [[k, v], …]}`,
 * `{"$set": […]}`, `{"$regexp": "/a/g"}`, `{"$undefined": true}`; anything else `{"$inspect": text}`.
 */
export function toTaggedJson(value: unknown): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value
  if (typeof value === 'number') {
    if (Number.isFinite(value) && !Object.is(value, -0)) return value
    return { $number: Object.is(value, -0) ? '-0' : String(value) }
  }
  if (value === undefined) return { $undefined: true }
  if (typeof value === 'bigint') return { $bigint: value.toString() }
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString('base64') }
  if (value instanceof Date) return { $date: Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString() }
  if (value instanceof RegExp) return { $regexp: String(value) }
  if (value instanceof Map) return { $map: [...value].map(([k, v]) => [toTaggedJson(k), toTaggedJson(v)]) }
  if (value instanceof Set) return { $set: [...value].map(toTaggedJson) }
  if (Array.isArray(value)) return Array.from(value, toTaggedJson)
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toTaggedJson(v)]))
  }
  return { $inspect: inspect(value, { depth: null }) }
}

/** Parses the value argument of `set` as JSON, or throws a usage error that says how to quote. */
export function parseJsonArg(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    throw usageError(
      `the value ${JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)} is not JSON; ` +
        `quote a string as '"text"' or pass --string, or store a file's bytes with --file`,
    )
  }
}

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** Parses a duration: milliseconds (`1500`) or a number with a unit `ms`, `s`, `m`, `h`, `d` (`90s`, `1.5h`). */
export function parseDuration(text: string, option = '--ttl'): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim())
  const ms = match ? Math.round(Number(match[1]) * UNITS[match[2] ?? 'ms']!) : Number.NaN
  if (!Number.isSafeInteger(ms) || ms < 1) {
    throw usageError(`${option} ${JSON.stringify(text)} is not a positive duration like 5000, 30s, 10m, 2h or 7d`)
  }
  return ms
}

/** Parses a positive integer option. */
export function parsePositiveInt(text: string, option: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN
  if (!Number.isSafeInteger(n) || n < 1) throw usageError(`${option} ${JSON.stringify(text)} is not a positive integer`)
  return n
}

/** An expiry time for people: ISO time and the time left. */
export function displayExpiry(expiresAt: number | undefined, now = Date.now()): string {
  if (expiresAt === undefined) return '-'
  const left = Math.max(0, expiresAt - now)
  const unit = left >= 86_400_000 ? 'd' : left >= 3_600_000 ? 'h' : left >= 60_000 ? 'm' : 's'
  const amount = left / UNITS[unit]!
  return `${new Date(expiresAt).toISOString()} (in ${amount < 10 ? amount.toFixed(1) : Math.round(amount)}${unit})`
}
