import { existsSync, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { BackendError } from '@cubby/core/backend'
import Database from 'better-sqlite3'
import { FALLBACK_AUTOCHECKPOINT } from './checkpointer.js'
import { codeOf, readOnlyOpenError, sqliteError } from './errors.js'
import type { ResolvedOptions } from './options.js'
import { checkSchema, migrate } from './schema.js'

/**
 * After a checkpoint, the WAL file is truncated back to this size (it otherwise keeps its largest size): just above
 * what `FALLBACK_AUTOCHECKPOINT` frames of 4 KiB pages take, so a WAL that restarts is reused, not regrown.
 */
export const JOURNAL_SIZE_LIMIT = 65 * 1024 * 1024

/**
 * Opens the connection: the folder created, WAL (checked: WAL needs shared memory, so every process must be on the
 * same host and a local filesystem), the durability level, the WAL size limit, temp storage in memory, and the schema
 * migrated (or, read-only, checked). Opening may wait for another process that is migrating the same file, using SQLite's own busy handler
 * (once per open); afterwards the busy handler is off and lock waits happen on timers, without blocking the loop.
 * A failed open closes what it opened.
 */
export function openDatabase(options: ResolvedOptions): Database.Database {
  const { file, readOnly } = options
  let db: Database.Database | undefined
  try {
    if (file !== ':memory:' && !readOnly) makeFolder(dirname(file))
    db = new Database(file, { readonly: readOnly, fileMustExist: readOnly, timeout: options.busyTimeoutMs })
    if (!readOnly && file !== ':memory:') {
      const mode = db.pragma('journal_mode = WAL', { simple: true })
      if (mode !== 'wal') {
        throw new BackendError(
          `could not switch ${file} to WAL mode (it stays in ${String(mode)} mode): the file or its directory may be read-only, or the filesystem lacks the shared memory WAL needs (network filesystems do); put the database on a local disk of the host that runs every process using it`,
        )
      }
    }
    db.pragma(`synchronous = ${options.durability === 'strict' ? 'FULL' : 'NORMAL'}`)
    db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT}`)
    // Checkpoints run on a thread of their own (see Checkpointer); this connection's are the fallback.
    if (!readOnly) db.pragma(`wal_autocheckpoint = ${FALLBACK_AUTOCHECKPOINT}`)
    // Ephemeral tables (an `IN (…)` list, a multi-row UPDATE) otherwise open a temp file per statement: ~9 µs a commit.
    db.pragma('temp_store = MEMORY')
    if (readOnly) checkSchema(db)
    else migrate(db)
    if (options.maxSizeBytes > 0) {
      const pageSize = db.pragma('page_size', { simple: true }) as number
      db.pragma(`max_page_count = ${Math.max(1, Math.ceil(options.maxSizeBytes / pageSize))}`)
    }
    db.pragma('busy_timeout = 0')
    return db
  } catch (error) {
    try {
      db?.close()
    } catch {
      // closing a connection that failed to open has nothing left to release
    }
    const code = codeOf(error)
    if (readOnly && file !== ':memory:' && !existsSync(file)) {
      throw new BackendError(`the database ${file} does not exist; readOnly opens only an existing file`, {
        cause: error,
      })
    }
    if (readOnly && (code.startsWith('SQLITE_CANTOPEN') || code === 'SQLITE_READONLY_DIRECTORY')) {
      throw readOnlyOpenError(error, file)
    }
    throw sqliteError(error, file, options.busyTimeoutMs)
  }
}

function makeFolder(folder: string): void {
  try {
    mkdirSync(folder, { recursive: true })
  } catch (error) {
    throw new BackendError(
      `cannot create the folder ${folder} for the database (${(error as Error).message}); create it, or check its permissions`,
      { cause: error },
    )
  }
}
