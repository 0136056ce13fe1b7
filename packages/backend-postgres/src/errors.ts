import { BackendError, CubbyError } from '@cubby/core/backend'

/** The SQLSTATE of a server error, or the Node error code of a network one ('' when there is none). */
export function codeOf(error: unknown): string {
  return String((error as { code?: unknown } | undefined)?.code ?? '')
}

/** A transaction the server aborted to keep things consistent, which can simply run again. */
export function isRetryable(error: unknown): boolean {
  const code = codeOf(error)
  return code === '40001' || code === '40P01'
}

/**
 * Whether the error is about the connection or the server as a whole (not one statement): every job of a group
 * fails with it, and the connection is dropped from the pool.
 */
export function isConnectionError(error: unknown): boolean {
  const code = codeOf(error)
  if (code.startsWith('08') || code.startsWith('57P') || code === '53300' || code.startsWith('E')) return true
  const message = error instanceof Error ? error.message : ''
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable/i.test(
    message,
  )
}

/** Turns a driver error into a `BackendError` that says what happened and what to do. */
export function pgError(error: unknown, where: string, timeoutMs: number): CubbyError {
  if (error instanceof CubbyError) return error
  const code = codeOf(error)
  const detail = error instanceof Error ? error.message : String(error)
  let message: string
  if (code === '57014' || /timeout/i.test(detail)) {
    message = `PostgreSQL at ${where} did not answer within ${timeoutMs} ms (timeoutMs); check the server's load and locks, or raise timeoutMs`
  } else if (code === '55P03') {
    message = `a lock on PostgreSQL at ${where} stayed held for over ${timeoutMs} ms (timeoutMs); find the session holding a long transaction`
  } else if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH') {
    message = `cannot reach PostgreSQL at ${where}; check that the server runs and the URL's host and port`
  } else if (code === '28P01' || code === '28000') {
    message = `PostgreSQL at ${where} refused the credentials; check the URL's user and password`
  } else if (code === '3D000') {
    message = `the database in the URL does not exist at ${where}; create it (CREATE DATABASE) or fix the URL`
  } else if (code === '42501') {
    message = `the PostgreSQL user lacks a privilege at ${where}; it needs to create the schema and its tables (or have an admin create them)`
  } else if (code === '53100' || code === '53200') {
    message = `PostgreSQL at ${where} is out of disk or memory; free space and retry`
  } else if (isConnectionError(error)) {
    message = `the connection to PostgreSQL at ${where} failed (the server restarted or the network dropped); retry: the cubby reconnects on its own`
  } else {
    message = `PostgreSQL at ${where} failed`
  }
  return new BackendError(`${message} (${code || 'error'}: ${detail})`, { cause: error })
}
