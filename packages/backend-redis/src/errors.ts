import { BackendError, CubbyError } from '@cubby/core/backend'

const OFFLINE = new Set([
  'ClientOfflineError',
  'ClientClosedError',
  'SocketClosedUnexpectedlyError',
  'SocketTimeoutError',
])

/** Whether a driver error means the connection (or the cluster's view of a node) is gone, not a refused command. */
export function isConnectionLoss(error: unknown): boolean {
  const name = (error as Error)?.constructor?.name ?? ''
  const message = String((error as Error)?.message ?? '')
  return OFFLINE.has(name) || /ECONNREFUSED|ECONNRESET|EPIPE|CLUSTERDOWN|Cannot find node/.test(message)
}

/** Whether Redis refused a login (wrong or missing credentials). */
export function isAuthError(error: unknown): boolean {
  return /WRONGPASS|NOAUTH|invalid password|invalid username/i.test(String((error as Error)?.message ?? ''))
}

/** A `BackendError` that says what went wrong with Redis and what to do; Cubby errors pass through unchanged. */
export function redisError(error: unknown, where: string): CubbyError {
  if (error instanceof CubbyError) return error
  const name = (error as Error)?.constructor?.name ?? 'Error'
  const detail = error instanceof Error ? error.message : String(error)
  let message: string
  if (isAuthError(error)) {
    message = `Redis at ${where} refused the credentials: put the right user and password in the URL (redis://user:password@host:port)`
  } else if (
    /no connection within|ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|RootNodesUnavailable/.test(`${name} ${detail}`)
  ) {
    message = `cannot connect to Redis at ${where}: check that it runs and that the URL is right`
  } else if (isConnectionLoss(error)) {
    message = `Redis at ${where} is unreachable; the client keeps reconnecting in the background: retry later`
  } else if (/^(MOVED|ASK|TRYAGAIN)/.test(detail)) {
    message = `the Redis Cluster at ${where} is moving the slot of this scope: retry in a moment`
  } else if (/^OOM/.test(detail)) {
    message = `Redis at ${where} is out of memory (maxmemory): free space or raise maxmemory; nothing was written`
  } else if (/^(READONLY|MASTERDOWN|LOADING)/.test(detail)) {
    message = `Redis at ${where} cannot take writes right now (${detail.split(' ')[0]}): retry in a moment`
  } else if (name === 'ErrorReply' || name === 'SimpleError' || name === 'BlobError') {
    message = `Redis at ${where} refused a command: check that it is Redis >= 7 and that the user may run EVALSHA`
  } else {
    message = `Redis at ${where} failed`
  }
  return new BackendError(`${message} (${name}: ${detail})`, { cause: error })
}

/** The error for a call that got no answer in time. */
export function timeoutError(where: string, ms: number, write: boolean): BackendError {
  return new BackendError(
    `Redis at ${where} did not answer within ${ms} ms (commandTimeoutMs / timeoutMs)` +
      (write ? '; the write may still have been applied: read before retrying' : ': retry later'),
  )
}
