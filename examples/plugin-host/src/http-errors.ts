import { CubbyError } from '@cubby/core'
import { HttpError } from './plugin.js'

/** HTTP status for each `CubbyError` code. */
const STATUS: Readonly<Record<string, number>> = {
  INVALID_KEY: 400,
  INVALID_SCOPE: 400,
  INVALID_VALUE: 400,
  INVALID_CONFIG: 400,
  VALUE_TOO_LARGE: 413,
  QUOTA_EXCEEDED: 413,
  NO_CONTEXT: 401,
  CONFLICT: 409,
  UNSUPPORTED: 501,
  BACKEND: 503,
  CLOSED: 503,
}

/**
 * The status and JSON body for an error a handler threw; `expected` is false for bugs (500), which get logged.
 * `userHeader` is named in the 401 message.
 */
export function errorReply(
  error: unknown,
  userHeader = 'x-user',
): { status: number; body: { error: Record<string, unknown> }; expected: boolean } {
  if (error instanceof HttpError) {
    return { status: error.status, body: { error: { code: error.code, message: error.message } }, expected: true }
  }
  if (error instanceof CubbyError) {
    // The ambient `user` outside a run with a user means the client did not say who it is.
    const message =
      error.code === 'NO_CONTEXT' ? `this route is per user: name the user in the ${userHeader} header` : error.message
    const body: Record<string, unknown> = { code: error.code, message }
    // Quota errors carry the figures a client needs to react.
    for (const field of ['limit', 'used', 'requested', 'dimension'] as const) {
      if (field in error) body[field] = (error as unknown as Record<string, unknown>)[field]
    }
    return { status: STATUS[error.code] ?? 500, body: { error: body }, expected: true }
  }
  return { status: 500, body: { error: { code: 'INTERNAL', message: 'internal error' } }, expected: false }
}
