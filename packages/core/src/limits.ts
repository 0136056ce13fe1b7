import { describe } from './describe.js'
import { InvalidConfigError } from './errors.js'

/** Size and batch limits, enforced by core before anything reaches the backend. */
export interface Limits {
  /** Largest key or scope segment, in UTF-8 bytes. @default 1024 */
  maxKeyBytes: number
  /** Largest encoded value, in bytes. @default 4194304 (4 MiB) */
  maxValueBytes: number
  /** Most operations in one write batch (`setMany`, `deleteMany`, `atomic().commit()`). @default 10000 */
  maxBatchSize: number
  /** Largest `limit` a `list` or `scopes` page may ask for. @default 1000 */
  maxPageSize: number
}

/** The defaults of `Limits`. */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxKeyBytes: 1024,
  maxValueBytes: 4 * 1024 * 1024,
  maxBatchSize: 10_000,
  maxPageSize: 1000,
})

/** Checks that `value` is an integer in [min, max], or throws `InvalidConfigError` naming `field`. */
export function checkInteger(field: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `between ${min} and ${max}`
    throw new InvalidConfigError(field, `must be an integer ${range}, got ${describe(value)}`)
  }
  return value
}

/** Merges and validates `limits` options. */
export function resolveLimits(input: unknown): Readonly<Limits> {
  if (input === undefined) return DEFAULT_LIMITS
  if (typeof input !== 'object' || input === null) throw new InvalidConfigError('limits', 'must be an object')
  const limits = { ...DEFAULT_LIMITS }
  for (const [name, value] of Object.entries(input)) {
    if (!(name in DEFAULT_LIMITS)) {
      throw new InvalidConfigError(
        `limits.${name}`,
        `is not a known limit (known: ${Object.keys(DEFAULT_LIMITS).join(', ')})`,
      )
    }
    if (value === undefined) continue
    limits[name as keyof Limits] = checkInteger(`limits.${name}`, value, 1)
  }
  return Object.freeze(limits)
}
