import { InvalidConfigError } from '@cubby/core/backend'

/** Options of the SQLite backend, given to `openCubby({ url: 'sqlite:…', ...options })`. */
export interface SqliteOptions {
  /**
   * How hard a commit is pushed to disk. `'normal'`: WAL with synchronous=NORMAL — a process crash loses nothing
   * acknowledged, a power cut or OS crash may lose the last commits. `'strict'`: synchronous=FULL — survives power
   * loss, one fsync per group commit.
   * @default 'normal'
   */
  durability?: 'normal' | 'strict'
  /**
   * How long a write (or, rarely, a read) waits for another process's lock before failing with `BackendError`. The
   * wait is on a timer with backoff, so the event loop keeps running meanwhile. Must be below the cubby's
   * `timeoutMs`, since every call settles within that.
   * @default 80% of the cubby's timeoutMs, at most 5000
   */
  busyTimeoutMs?: number
  /**
   * How often the background sweep looks for expired entries to reclaim. When it finds some it keeps going, one
   * transaction of at most 2000 rows at a time with the event loop turning in between, until nothing is due.
   * @default 5000
   */
  sweepIntervalMs?: number
  /** How often watchers look for other processes' commits (a cheap PRAGMA data_version check). @default 50 */
  watchPollMs?: number
  /**
   * How long change-log rows are kept for watchers that fall behind. Watchers record theirs in the database, and
   * no process prunes rows a live watcher of another process still keeps.
   * @default 60000
   */
  changeRetentionMs?: number
  /**
   * Open the file read-only: reads, list, usage() and scopes() work; writes fail with `BackendError`; watch is
   * unavailable (`capabilities.watch` is false: it needs to register). The directory must let SQLite create the
   * `-shm` file unless a read-write process has the database open (see the README).
   * @default false
   */
  readOnly?: boolean
  /** Cap the database file at about this many bytes; a write past it fails with `BackendError` (as on a full disk). @default 0 (no cap) */
  maxSizeBytes?: number
}

/** Validated options plus the file to open. */
export interface ResolvedOptions extends Required<SqliteOptions> {
  file: string
}

/** The file named by a `sqlite:` URL: `sqlite:./rel.db`, `sqlite:/abs.db`, `sqlite:///abs.db`, `sqlite::memory:`. */
export function fileFromUrl(url: string): string {
  if (!url.toLowerCase().startsWith('sqlite:'))
    throw new InvalidConfigError('url', `${JSON.stringify(url)} is not a sqlite: URL`)
  let file = url.slice('sqlite:'.length)
  if (file.startsWith('//')) file = file.slice(2) // sqlite:///abs/path or sqlite://rel/path
  if (file === '') throw new InvalidConfigError('url', 'sqlite: needs a file path, e.g. sqlite:./data/cubby.db')
  if (file.includes('?'))
    throw new InvalidConfigError('url', 'query parameters are not supported; pass options to openCubby instead')
  try {
    file = decodeURIComponent(file)
  } catch {
    throw new InvalidConfigError('url', `${JSON.stringify(url)} has a malformed %-escape`)
  }
  if (file !== ':memory:' && file.includes('\u0000')) throw new InvalidConfigError('url', 'the file path contains NUL')
  return file
}

const positive = (field: string, value: unknown, fallback: number): number => {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new InvalidConfigError(field, `must be a positive integer, got ${String(value)}`)
  }
  return value
}

const KNOWN = [
  'durability',
  'busyTimeoutMs',
  'sweepIntervalMs',
  'watchPollMs',
  'changeRetentionMs',
  'readOnly',
  'maxSizeBytes',
]

/** Validates backend options; unknown ones are an `InvalidConfigError` naming them. */
export function resolveOptions(
  file: string,
  options: Readonly<Record<string, unknown>>,
  timeoutMs: number,
): ResolvedOptions {
  for (const name of Object.keys(options)) {
    if (!KNOWN.includes(name))
      throw new InvalidConfigError(name, `is not an option of the sqlite backend (known: ${KNOWN.join(', ')})`)
  }
  const durability = options.durability ?? 'normal'
  if (durability !== 'normal' && durability !== 'strict') {
    throw new InvalidConfigError('durability', `must be 'normal' or 'strict', got ${String(durability)}`)
  }
  if (options.readOnly !== undefined && typeof options.readOnly !== 'boolean') {
    throw new InvalidConfigError('readOnly', 'must be a boolean')
  }
  const busyTimeoutMs = positive(
    'busyTimeoutMs',
    options.busyTimeoutMs,
    Math.max(1, Math.min(5000, Math.floor(timeoutMs * 0.8))),
  )
  if (options.busyTimeoutMs !== undefined && busyTimeoutMs >= timeoutMs) {
    throw new InvalidConfigError(
      'busyTimeoutMs',
      `must be below timeoutMs (${timeoutMs}), got ${busyTimeoutMs}: every call settles within timeoutMs, and a write may wait this long for another process's lock; raise timeoutMs as well`,
    )
  }
  return {
    file,
    durability,
    busyTimeoutMs,
    sweepIntervalMs: positive('sweepIntervalMs', options.sweepIntervalMs, 5000),
    watchPollMs: positive('watchPollMs', options.watchPollMs, 50),
    changeRetentionMs: positive('changeRetentionMs', options.changeRetentionMs, 60_000),
    readOnly: options.readOnly === true,
    maxSizeBytes: options.maxSizeBytes === undefined ? 0 : positive('maxSizeBytes', options.maxSizeBytes, 0),
  }
}
