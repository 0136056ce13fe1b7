import { InvalidConfigError } from '@cubby/core/backend'

/** Options of the PostgreSQL backend, given to `openCubby({ url: 'postgres://…', ...options })`. */
export interface PostgresOptions {
  /**
   * The schema holding Cubby's tables, created on open, so several apps (or several cubbies) share one database.
   * A plain identifier: letters, digits and `_`, starting with a letter or `_`, at most 48 bytes.
   * @default 'cubby'
   */
  schema?: string
  /** Most connections this cubby holds (reads run in parallel on them; writes use one at a time). @default 10 */
  poolSize?: number
  /**
   * How often expired entries are reclaimed in the background (reads never return them either way, and usage(),
   * scopes() and quota checks exclude them exactly).
   * @default 5000
   */
  sweepIntervalMs?: number
  /**
   * Watchers learn of other processes' commits through LISTEN/NOTIFY; this is how often they also read the change
   * log without being notified, a backstop for a notification lost with a connection.
   * @default 1000
   */
  watchPollMs?: number
  /**
   * How long change-log rows are kept for watchers that fall behind (a watcher past it ends with `BackendError`).
   * The longest retention of any live watcher, of any process, wins.
   * @default 60000
   */
  changeRetentionMs?: number
}

/** Validated options plus the connection string. */
export interface ResolvedOptions extends Required<PostgresOptions> {
  /** The URL for the driver (`postgres://…`; `postgresql:` works the same). */
  connectionString: string
  /** host:port/database for messages (never the password). */
  where: string
  /** The bound on every call (`BackendInit.timeoutMs`): statement_timeout, lock_timeout and connection waits. */
  timeoutMs: number
}

const KNOWN = ['schema', 'poolSize', 'sweepIntervalMs', 'watchPollMs', 'changeRetentionMs']

const positive = (field: string, value: unknown, fallback: number): number => {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new InvalidConfigError(field, `must be a positive integer, got ${String(value)}`)
  }
  return value
}

/** Where a URL points, for messages: host:port/database, never credentials. */
function describe(url: string): string {
  try {
    const parsed = new URL(url)
    return `${parsed.hostname || 'localhost'}:${parsed.port || '5432'}${parsed.pathname || '/'}`
  } catch {
    throw new InvalidConfigError(
      'url',
      'is not a valid postgres:// URL; use postgres://USER:PASSWORD@HOST:PORT/DATABASE (percent-encode special characters)',
    )
  }
}

/** Validates the URL and the backend options; unknown options are an `InvalidConfigError` naming them. */
export function resolveOptions(
  url: string,
  options: Readonly<Record<string, unknown>>,
  timeoutMs: number,
): ResolvedOptions {
  const scheme = /^([a-z]+):/i.exec(url)?.[1]?.toLowerCase()
  if (scheme !== 'postgres' && scheme !== 'postgresql') {
    throw new InvalidConfigError('url', `${JSON.stringify(url)} is not a postgres:// or postgresql:// URL`)
  }
  for (const name of Object.keys(options)) {
    if (!KNOWN.includes(name))
      throw new InvalidConfigError(name, `is not an option of the postgres backend (known: ${KNOWN.join(', ')})`)
  }
  const schema = options.schema ?? 'cubby'
  if (typeof schema !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,47}$/.test(schema)) {
    throw new InvalidConfigError(
      'schema',
      `must be a plain identifier (letters, digits, _; at most 48), got ${JSON.stringify(schema)}`,
    )
  }
  return {
    connectionString: `postgres:${url.slice(url.indexOf(':') + 1)}`,
    where: describe(`postgres:${url.slice(url.indexOf(':') + 1)}`),
    timeoutMs,
    schema,
    poolSize: positive('poolSize', options.poolSize, 10),
    sweepIntervalMs: positive('sweepIntervalMs', options.sweepIntervalMs, 5000),
    watchPollMs: positive('watchPollMs', options.watchPollMs, 1000),
    changeRetentionMs: positive('changeRetentionMs', options.changeRetentionMs, 60_000),
  }
}
