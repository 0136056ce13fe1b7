/**
 * Every error Cubby raises is a `CubbyError` with a stable `code`. Match on `code` (or `instanceof` the class),
 * never on the message: messages are written for people and may improve between releases.
 */

/** The stable error codes. */
export type CubbyErrorCode =
  | 'INVALID_KEY'
  | 'INVALID_SCOPE'
  | 'INVALID_VALUE'
  | 'VALUE_TOO_LARGE'
  | 'QUOTA_EXCEEDED'
  | 'CONFLICT'
  | 'NO_CONTEXT'
  | 'UNSUPPORTED'
  | 'INVALID_CONFIG'
  | 'BACKEND'
  | 'CLOSED'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'

/** Base class of every error Cubby raises. */
export class CubbyError extends Error {
  /** Stable, machine-readable error code. */
  readonly code: CubbyErrorCode

  constructor(code: CubbyErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }
}

/** A key is not a non-empty, well-formed string within `limits.maxKeyBytes`. Code `INVALID_KEY`. */
export class InvalidKeyError extends CubbyError {
  constructor(message: string) {
    super('INVALID_KEY', message)
  }
}

/** A scope segment is invalid, or a scope path is deeper than allowed. Code `INVALID_SCOPE`. */
export class InvalidScopeError extends CubbyError {
  constructor(message: string) {
    super('INVALID_SCOPE', message)
  }
}

/**
 * A value cannot be stored or used as asked: `incr` on a non-number, a stored value this cubby cannot decode.
 * Code `INVALID_VALUE`.
 */
export class InvalidValueError extends CubbyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_VALUE', message, options)
  }
}

/** A value cannot be serialized (a function, a symbol, an unregistered class instance, a cycle). Code `INVALID_VALUE`. */
export class SerializationError extends InvalidValueError {}

/** An encoded value is larger than `limits.maxValueBytes`. Code `VALUE_TOO_LARGE`. */
export class ValueTooLargeError extends CubbyError {
  /** Encoded size of the rejected value, in bytes. */
  readonly size: number
  /** The limit it exceeded, in bytes. */
  readonly limit: number

  constructor(key: string, size: number, limit: number) {
    super(
      'VALUE_TOO_LARGE',
      `value for key ${JSON.stringify(key)} is ${size} bytes encoded, over the limit of ${limit} bytes ` +
        '(limits.maxValueBytes); store it in smaller pieces or raise the limit',
    )
    this.size = size
    this.limit = limit
  }
}

/** Which dimension of a quota was exceeded. */
export type QuotaDimension = 'bytes' | 'keys'

/** A write would take a scope's subtree over its quota; nothing was written. Code `QUOTA_EXCEEDED`. */
export class QuotaExceededError extends CubbyError {
  /** Path of the scope whose quota was exceeded. */
  readonly scope: readonly string[]
  /** `'bytes'` or `'keys'`. */
  readonly dimension: QuotaDimension
  /** The quota's limit in that dimension. */
  readonly limit: number
  /** Usage of the quota's subtree before the write. */
  readonly used: number
  /** How much the write would have added. */
  readonly requested: number

  constructor(info: {
    scope: readonly string[]
    dimension: QuotaDimension
    limit: number
    used: number
    requested: number
  }) {
    super(
      'QUOTA_EXCEEDED',
      `quota exceeded for scope ${JSON.stringify(info.scope)}: ${info.used} ${info.dimension} used + ` +
        `${info.requested} requested > limit ${info.limit}; delete data or raise the quota`,
    )
    this.scope = info.scope
    this.dimension = info.dimension
    this.limit = info.limit
    this.used = info.used
    this.requested = info.requested
  }
}

/** A conditional write found a different version than expected; nothing was written. Code `CONFLICT`. */
export class ConflictError extends CubbyError {
  /** The key whose version did not match. */
  readonly key: string

  constructor(key: string, message?: string) {
    super(
      'CONFLICT',
      message ??
        `key ${JSON.stringify(key)} changed since its version was read; read it again and retry, or use update()`,
    )
    this.key = key
  }
}

/** The ambient `store` / `user` was used outside `cubby.run()`, or `user` in a run with no user. Code `NO_CONTEXT`. */
export class NoContextError extends CubbyError {
  constructor(message: string) {
    super('NO_CONTEXT', message)
  }
}

/** The backend lacks a capability the call needs. Code `UNSUPPORTED`. */
export class UnsupportedError extends CubbyError {
  constructor(message: string) {
    super('UNSUPPORTED', message)
  }
}

/** A URL, option or call option is invalid; the message names the field. Code `INVALID_CONFIG`. */
export class InvalidConfigError extends CubbyError {
  /** The offending field, e.g. `limits.maxKeyBytes` or `list.limit`. */
  readonly field: string

  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super('INVALID_CONFIG', `${field}: ${message}`, options)
    this.field = field
  }
}

/** The storage failed or did not answer in time (`cause` holds the driver's error). Code `BACKEND`. */
export class BackendError extends CubbyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BACKEND', message, options)
  }
}

/** A watch consumer fell too far behind; the watch has ended. Code `BACKEND`. */
export class WatchOverflowError extends BackendError {
  constructor(limit: number) {
    super(
      `watch consumer fell more than ${limit} events behind and the watch was ended; ` +
        're-read the state you mirror and start a new watch (or raise watch({ maxBuffered }))',
    )
  }
}

/** The cubby was closed; open a new one. Code `CLOSED`. */
export class ClosedError extends CubbyError {
  constructor() {
    super('CLOSED', 'this cubby is closed; open a new one with openCubby()')
  }
}

/**
 * A remote server refused the credential: the token is missing, malformed, expired, signed with an unknown or
 * retired key, or tampered with. Nothing was read or written. Code `UNAUTHORIZED`.
 */
export class UnauthorizedError extends CubbyError {
  constructor(message: string) {
    super('UNAUTHORIZED', message)
  }
}

/**
 * The credential is valid but does not allow the call: a permission (`read`, `write`, `watch`) it lacks, or a scope
 * outside its context. Nothing was read or written. Code `FORBIDDEN`.
 */
export class ForbiddenError extends CubbyError {
  constructor(message: string) {
    super('FORBIDDEN', message)
  }
}
