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
