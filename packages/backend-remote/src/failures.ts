import { BackendError } from '@cubby/core/backend'

/** The error of a request sent on a socket that was lost before its answer came. */
export function lostError(url: string, write: boolean): BackendError {
  return new BackendError(
    write
      ? `the connection to ${url} was lost after this write was sent: its outcome is unknown; read the keys before retrying`
      : `the connection to ${url} was lost before the server answered; retry the call`,
  )
}

/** The error of a request not answered within `timeoutMs`. */
export function timeoutError(url: string, timeoutMs: number, unknownWrite: boolean): BackendError {
  return new BackendError(
    `the server at ${url} did not answer within ${timeoutMs} ms (timeoutMs)` +
      (unknownWrite ? '; the outcome of this write is unknown: read before retrying' : ''),
  )
}

/**
 * Whether `error` is the server refusing a GET whose answer would not fit in one frame (`ReplyTooLargeError`:
 * `INVALID_CONFIG` on `get.keys`). A GET of several keys so refused is split and asked again (reads are idempotent).
 */
export function isGetTooLarge(error: unknown): boolean {
  const e = error as { code?: unknown; field?: unknown } | null
  return e?.code === 'INVALID_CONFIG' && e.field === 'get.keys'
}
