import type { QuotaRule, ScopePath, WriteCheck, WriteOp, WriteResult } from '../backend/contract.js'
import type { Engine } from '../engine.js'
import { InvalidConfigError, SerializationError, UnsupportedError, ValueTooLargeError } from '../errors.js'
import { assertKey } from '../keys.js'
import { describe } from '../limits.js'

/**
 * One scope of one cubby, with the validation helpers every store operation uses.
 * @internal
 */
export class ScopeContext {
  private rules: QuotaRule[] | undefined

  constructor(
    readonly engine: Engine,
    readonly path: ScopePath,
  ) {}

  /** The quota rules that apply to writes here (computed once per view). */
  get quotaRules(): QuotaRule[] {
    this.rules ??= this.engine.quotas.rulesFor(this.path)
    return this.rules
  }

  key(key: unknown): string {
    assertKey(key, this.engine.limits.maxKeyBytes)
    return key
  }

  /** Encodes a value for `key`, enforcing `limits.maxValueBytes`. */
  encode(key: string, value: unknown): Uint8Array {
    if (value === undefined) {
      throw new SerializationError(
        `cannot store undefined at key ${JSON.stringify(key)}: get() returns undefined for absent keys; use delete()`,
      )
    }
    const bytes = this.engine.codec.encode(value)
    if (bytes.byteLength > this.engine.limits.maxValueBytes) {
      throw new ValueTooLargeError(key, bytes.byteLength, this.engine.limits.maxValueBytes)
    }
    return bytes
  }

  /** Turns a `ttl` option into an absolute expiry (or undefined when absent). */
  expiry(field: string, ttl: unknown, now: number): number | undefined {
    if (ttl === undefined) return undefined
    if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0) {
      throw new InvalidConfigError(
        field,
        `must be a positive number of milliseconds, got ${describe(ttl)}; omit it for no expiry`,
      )
    }
    if (!this.engine.backend.capabilities.ttl) {
      throw new UnsupportedError(`the ${this.engine.backend.name} backend does not support TTL (${field})`)
    }
    return now + Math.ceil(ttl)
  }

  /** Validates an `ifVersion` / `check` version. */
  version(field: string, version: unknown): string | null {
    if (version === null || (typeof version === 'string' && version !== '')) return version
    throw new InvalidConfigError(
      field,
      `must be a version string from a previous read or write, or null; got ${describe(version)}`,
    )
  }

  /** Validates an optional string option. */
  optionalString(field: string, value: unknown): string | undefined {
    if (value === undefined || typeof value === 'string') return value
    throw new InvalidConfigError(field, `must be a string, got ${describe(value)}`)
  }

  /** Validates an options argument (undefined or a plain object). */
  options<T extends object>(field: string, options: T | undefined): Partial<T> {
    if (options === undefined) return {}
    if (typeof options !== 'object' || options === null) throw new InvalidConfigError(field, 'must be an object')
    return options
  }

  /** Sends a write batch to the backend. */
  write(action: string, checks: WriteCheck[], ops: WriteOp[], now: number): Promise<WriteResult> {
    if (ops.length > this.engine.limits.maxBatchSize) {
      throw new InvalidConfigError(
        action,
        `has ${ops.length} operations, over limits.maxBatchSize (${this.engine.limits.maxBatchSize}); split it`,
      )
    }
    return this.engine.call(() =>
      this.engine.backend.write({ scope: this.path, checks, ops, quotas: this.quotaRules, now }),
    )
  }
}
