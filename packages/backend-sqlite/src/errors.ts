import { BackendError, CubbyError } from '@cubby/core/backend'

/** Turns a better-sqlite3 error into a `BackendError` that says what happened and what to do. */
export function sqliteError(error: unknown, file: string, busyTimeoutMs: number): CubbyError {
  if (error instanceof CubbyError) return error
  const code = String((error as { code?: unknown }).code ?? '')
  const detail = error instanceof Error ? error.message : String(error)
  let message: string
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    message = `the database ${file} stayed locked by another connection for over ${busyTimeoutMs} ms (busyTimeoutMs); retry, or find the process holding a long transaction`
  } else if (code === 'SQLITE_FULL') {
    message = `the disk holding ${file} is full (or the database reached its size limit); free space and retry`
  } else if (code.startsWith('SQLITE_READONLY')) {
    message = `the database ${file} is read-only (file or directory permissions, a read-only mount, or readOnly: true)`
  } else if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
    message = `the database ${file} is corrupt or not a SQLite database; restore it from a backup`
  } else if (code.startsWith('SQLITE_CANTOPEN')) {
    message = `cannot open the database ${file}: check that the directory exists and is writable`
  } else if (code.startsWith('SQLITE_IOERR')) {
    message = `an I/O error hit the database ${file}; check the disk`
  } else {
    message = `sqlite failed on ${file}`
  }
  return new BackendError(`${message} (${code || 'error'}: ${detail})`, { cause: error })
}
