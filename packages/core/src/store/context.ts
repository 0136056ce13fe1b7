import type { QuotaRule, ScopePath, WriteCheck, WriteOp, WriteResult } from '../backend/contract.js'
import { describe } from '../describe.js'
import type { Engine } from '../engine.js'
import { InvalidConfigError, SerializationError, UnsupportedError, ValueTooLargeError } from '../errors.js'
import { assertKey } from '../keys.js'
import { encodeScopePath } from '../scope-path.js'

/** What `options()` returns for an absent options argument: shared, so an option-less call allocates nothing. */
const NO_OPTIONS = Object.freeze({})

/** The latest expiry a TTL may give: the largest time a `Date` can hold (year 275760), well below 2^53. */
export const MAX_EXPIRES_AT = 8.64e15

/**
 * One scope of one cubby, with the validation helpers every store operation uses.
 * @internal
 */
export class ScopeContext {
  private rules: QuotaRule[] | undefined
  private tag: string | undefined

  constructor(
    readonly engine: Engine,
    readonly path: ScopePath,
  ) {}

  /** The quota rules that apply to writes here (computed once per view). */
  get quotaRules(): QuotaRule[] {
    this.rules ??= this.engine.quotas.rulesFor(this.path)
    return this.rules
  }

  /** A short tag of this scope's path, stored in cursors so a cursor of another scope is refused. */
  get cursorTag(): string {
    this.tag ??= fnv1a(encodeScopePath(this.path))
    return this.tag
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
    const expiresAt = now + Math.ceil(ttl)
    if (expiresAt > MAX_EXPIRES_AT) {
      throw new InvalidConfigError(
        field,
        `${ttl} ms is too long: the key would expire after the latest time a Date can hold; omit ttl for no expiry`,
      )
    }
    return expiresAt
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

  /**
   * Validates an options argument of `action`: undefined, or an object whose own keys are all in `known` (a typo
   * such as `ifVerison` must not silently turn a conditional write into a plain one). `what` names the argument.
   */
  options<T extends object>(
    action: string,
    options: T | undefined,
    known: readonly (keyof T & string)[],
    what = 'options',
  ): Partial<T> {
    if (options === undefined) return NO_OPTIONS
    if (typeof options !== 'object' || options === null || Array.isArray(options)) {
      throw new InvalidConfigError(`${action}.${what}`, `must be an object, got ${describe(options)}`)
    }
    for (const name of Object.keys(options)) {
      if (!(known as readonly string[]).includes(name)) {
        throw new InvalidConfigError(
          `${action}.${name}`,
          `is not an option of ${action}() (known: ${known.join(', ')}); check its spelling`,
        )
      }
    }
    return options
  }

  /** Throws the error for a batch over `limits.maxBatchSize`; `count` says how many operations it had. */
  tooMany(action: string, count: string): never {
    throw new InvalidConfigError(
      action,
      `has ${count} operations, over limits.maxBatchSize (${this.engine.limits.maxBatchSize}); split it`,
    )
  }

  /** Sends a write batch to the backend. The arrays are not touched afterwards, so the backend may keep them. */
  write(action: string, checks: WriteCheck[], ops: WriteOp[], now: number): Promise<WriteResult> {
    return this.send(action, checks, ops, now, same)
  }

  /** `write`, settled through `onResult` (see `Engine.write`): the hot paths' way, one promise fewer. */
  send<R>(
    action: string,
    checks: WriteCheck[],
    ops: WriteOp[],
    now: number,
    onResult: (result: WriteResult) => R,
  ): Promise<R> {
    if (ops.length > this.engine.limits.maxBatchSize) this.tooMany(action, String(ops.length))
    return this.engine.write({ scope: this.path, checks, ops, quotas: this.quotaRules, now }, onResult)
  }
}

function same<T>(value: T): T {
  return value
}

/** 32-bit FNV-1a of a string's UTF-16 units, in base 36. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return (hash >>> 0).toString(36)
}
