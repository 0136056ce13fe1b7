import { BackendError, CubbyError } from '@cubby/core/backend'

/** The SQLite result code of a driver error ('' when there is none). */
export function codeOf(error: unknown): string {
  return String((error as { code?: unknown } | undefined)?.code ?? '')
}

/** Whether a driver error means another connection holds a lock (retry later). */
export function isBusy(error: unknown): boolean {
  return codeOf(error).startsWith('SQLITE_BUSY')
}

/** Turns a better-sqlite3 error into a `BackendError` that says what happened and what to do. */
export function sqliteError(error: unknown, file: string, busyTimeoutMs: number): CubbyError {
  if (error instanceof CubbyError) return error
  const code = codeOf(error)
  const detail = error instanceof Error ? error.message : String(error)
  let message: string
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    message = lockMessage(file, busyTimeoutMs)
  } else if (code === 'SQLITE_FULL') {
    message = `the disk holding ${file} is full (or the database reached maxSizeBytes); free space and retry`
  } else if (code === 'SQLITE_TOOBIG') {
    message = `a value is too big for SQLite (about 1 GB at most) in ${file}; store less per key`
  } else if (code.startsWith('SQLITE_READONLY')) {
    message = `the database ${file} is read-only (file or directory permissions, a read-only mount, or readOnly: true); writes need write access to the file and its directory`
  } else if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
    message = `the database ${file} is corrupt or not a SQLite database; restore it from a backup`
  } else if (code.startsWith('SQLITE_CANTOPEN')) {
    message = `cannot open the database ${file}: check that the directory exists and is writable`
  } else if (code.startsWith('SQLITE_IOERR')) {
    message = `an I/O error hit the database ${file}; check the disk (a full disk shows up this way too)`
  } else {
    message = `sqlite failed on ${file}`
  }
  return new BackendError(`${message} (${code || 'error'}: ${detail})`, { cause: error })
}

function lockMessage(file: string, busyTimeoutMs: number): string {
  return `the database ${file} stayed locked by another connection for over ${busyTimeoutMs} ms (busyTimeoutMs); retry, or find the process holding a long transaction`
}

/** The error of a write that waited for another connection's lock past `busyTimeoutMs`. */
export function lockTimeout(cause: unknown, file: string, busyTimeoutMs: number): BackendError {
  return new BackendError(lockMessage(file, busyTimeoutMs), { cause })
}

/**
 * The error of a read-only open that SQLite could not do: in WAL mode every reader needs the `-shm` file beside the
 * database, so a read-only directory or mount without it cannot be read.
 */
export function readOnlyOpenError(error: unknown, file: string): BackendError {
  return new BackendError(
    `cannot read ${file} read-only: in WAL mode a reader needs ${file}-shm beside it, and the directory is read-only (${codeOf(error)}: ${error instanceof Error ? error.message : String(error)}). ` +
      'Make the directory writable, keep a read-write process open on the database (it creates the file), or for read-only media copy the database out first (see the README, "Read-only use")',
    { cause: error },
  )
}
