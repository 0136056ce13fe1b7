/**
 * Errors on the wire: an ERROR frame carries the error's stable `code`, its class name, its message and, for the
 * errors that have them, their fields as a small JSON object. The client rebuilds the same `CubbyError` subclass.
 */

import {
  BackendError,
  ClosedError,
  ConflictError,
  CubbyError,
  ForbiddenError,
  InvalidConfigError,
  InvalidKeyError,
  InvalidScopeError,
  InvalidValueError,
  NoContextError,
  QuotaExceededError,
  SerializationError,
  UnauthorizedError,
  UnsupportedError,
  ValueTooLargeError,
} from '@cubby/core/backend'
import type { FrameReader, FrameWriter } from './buffer.js'

/** Fields of an error, as they travel. */
export interface WireError {
  code: string
  name: string
  message: string
  /** Class-specific fields (`key`, `field`, `limit`, ...), JSON. */
  detail: Record<string, unknown>
}

/** What the server sends for `error` (anything that is not a `CubbyError` becomes a generic `BACKEND` error). */
export function toWireError(error: unknown): WireError {
  if (!(error instanceof CubbyError)) {
    return { code: 'BACKEND', name: 'BackendError', message: 'the server failed to handle the request', detail: {} }
  }
  const detail: Record<string, unknown> = {}
  if (error instanceof QuotaExceededError) {
    Object.assign(detail, {
      scope: error.scope,
      dimension: error.dimension,
      limit: error.limit,
      used: error.used,
      requested: error.requested,
    })
  } else if (error instanceof ConflictError) detail.key = error.key
  else if (error instanceof ValueTooLargeError) Object.assign(detail, { size: error.size, limit: error.limit })
  else if (error instanceof InvalidConfigError) detail.field = error.field
  return { code: error.code, name: error.name, message: error.message, detail }
}

/** Writes an ERROR frame for request `id`. */
export function writeError(w: FrameWriter, kind: number, id: number, error: WireError): void {
  w.u8(kind).u32(id).str(error.code).str(error.name).str(error.message).str(JSON.stringify(error.detail))
}

/** Reads an ERROR body. */
export function readError(r: FrameReader): WireError {
  const code = r.str()
  const name = r.str()
  const message = r.str()
  let detail: Record<string, unknown> = {}
  try {
    const parsed = JSON.parse(r.str()) as unknown
    if (typeof parsed === 'object' && parsed !== null) detail = parsed as Record<string, unknown>
  } catch {
    // A detail we cannot read leaves the error without its fields; the code and message still say what happened.
  }
  return { code, name, message, detail }
}

/** Rebuilds the `CubbyError` the server raised; `mapScope` turns a server-relative scope into the client's path. */
export function fromWireError(error: WireError, mapScope: (scope: string[]) => string[]): CubbyError {
  const { detail } = error
  const made = build(error, detail, mapScope)
  // Keep the server's wording exactly: it says what was wrong and what to do.
  Object.defineProperty(made, 'message', {
    value: error.message,
    enumerable: false,
    writable: true,
    configurable: true,
  })
  return made
}

function build(error: WireError, detail: Record<string, unknown>, mapScope: (scope: string[]) => string[]): CubbyError {
  switch (error.code) {
    case 'INVALID_KEY':
      return new InvalidKeyError(error.message)
    case 'INVALID_SCOPE':
      return new InvalidScopeError(error.message)
    case 'INVALID_VALUE':
      return error.name === 'SerializationError'
        ? new SerializationError(error.message)
        : new InvalidValueError(error.message)
    case 'VALUE_TOO_LARGE':
      return new ValueTooLargeError(String(detail.key ?? ''), Number(detail.size), Number(detail.limit))
    case 'QUOTA_EXCEEDED':
      return new QuotaExceededError({
        scope: mapScope(Array.isArray(detail.scope) ? (detail.scope as string[]) : []),
        dimension: detail.dimension === 'keys' ? 'keys' : 'bytes',
        limit: Number(detail.limit),
        used: Number(detail.used),
        requested: Number(detail.requested),
      })
    case 'CONFLICT':
      return new ConflictError(String(detail.key ?? ''), error.message)
    case 'NO_CONTEXT':
      return new NoContextError(error.message)
    case 'UNSUPPORTED':
      return new UnsupportedError(error.message)
    case 'INVALID_CONFIG':
      return new InvalidConfigError(String(detail.field ?? 'request'), error.message)
    case 'CLOSED':
      // The server's cubby closed: to this client that is a storage failure it may retry, not its own close.
      return new BackendError(`the server's store is closed: ${new ClosedError().message}`)
    case 'UNAUTHORIZED':
      return new UnauthorizedError(error.message)
    case 'FORBIDDEN':
      return new ForbiddenError(error.message)
    default:
      return new BackendError(error.message)
  }
}
