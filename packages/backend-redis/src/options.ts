import { InvalidConfigError } from '@cubby/core/backend'

/** Options of the Redis backend, given to `openCubby({ url: 'redis://…', ...options })`. */
export interface RedisOptions {
  /** First part of every key, so several apps can share one database. No `{`, `}` or whitespace. @default 'cubby' */
  prefix?: string
  /** How long opening waits for a connection (and its checks) before failing with `BackendError`. @default 5000 */
  connectTimeoutMs?: number
  /**
   * A call that gets no answer within this long fails with `BackendError` (the cubby's `timeoutMs` bounds it too,
   * whichever is shorter). A write that timed out may still have been applied: read before retrying. @default 5000
   */
  commandTimeoutMs?: number
  /**
   * How often expired entries are reclaimed in the background (they are also reclaimed before `usage()`,
   * `scopes()` and a quota refusal, so those answers are exact either way). @default 5000
   */
  sweepIntervalMs?: number
  /**
   * Redis deletes an expired entry itself this long after its expiry, as a backstop for a sweep that did not run;
   * the bookkeeping stays exact either way. @default 3600000
   */
  expiryGraceMs?: number
  /**
   * How often each watched scope is probed end to end (a message through the server to this process's
   * subscription). A watch that misses its probe, or sees a gap in the scope's sequence numbers, ends with
   * `BackendError` instead of going silently deaf. @default 5000
   */
  heartbeatMs?: number
}

/** Credentials and TLS for every connection, taken from the URL. */
export interface Credentials {
  username?: string
  password?: string
  tls: boolean
}

/** Where to connect: host and port of one server, or a cluster's seed nodes. */
export interface Endpoint {
  host: string
  port: number
}

/** Validated options plus where to connect. */
export interface ResolvedOptions extends Required<RedisOptions> {
  cluster: boolean
  /** The server, or the cluster's seed nodes. */
  endpoints: Endpoint[]
  /** Database number (single server only). */
  database: number
  credentials: Credentials
  /** host:port list for messages (never the password). */
  where: string
}

type Target = Pick<ResolvedOptions, 'cluster' | 'endpoints' | 'database' | 'credentials' | 'where'>

const bad = (url: string, why: string) =>
  new InvalidConfigError(
    'url',
    `${JSON.stringify(redact(url))} ${why}; expected redis://[user:pass@]host:port[/db], rediss://… (TLS) or redis+cluster://[user:pass@]host:port,host:port`,
  )

/** The URL with its password replaced, for messages. */
function redact(url: string): string {
  return url.replace(/(\/\/[^:@/]*:)[^@]*@/, '$1***@')
}

function hostPort(url: string, text: string): Endpoint {
  const match = /^(\[[^\]]+\]|[^:/[\]]+)(?::(\d{1,5}))?$/.exec(text)
  if (!match) throw bad(url, `has ${JSON.stringify(text)} where host:port was expected`)
  const port = match[2] === undefined ? 6379 : Number(match[2])
  if (port < 1 || port > 65535) throw bad(url, `has port ${port}, outside 1-65535`)
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port }
}

/**
 * Parses `redis://[user:pass@]host:port[/db]`, `rediss://…` (TLS), and `redis+cluster://[user:pass@]h1:p1,h2:p2`
 * (`rediss+cluster://` for TLS). Credentials and TLS apply to every connection, including the cluster nodes the
 * client discovers.
 */
export function parseUrl(url: string): Target {
  const match = /^(rediss?)(\+cluster)?:\/\/(.*)$/i.exec(url)
  if (!match) throw bad(url, 'is not a Redis URL')
  const tls = match[1]!.toLowerCase() === 'rediss'
  const cluster = match[2] !== undefined
  let rest = match[3]!
  const at = rest.lastIndexOf('@')
  const credentials: Credentials = { tls }
  if (at >= 0) {
    const auth = rest.slice(0, at)
    rest = rest.slice(at + 1)
    const colon = auth.indexOf(':')
    const decode = (text: string) => {
      try {
        return decodeURIComponent(text)
      } catch {
        throw bad(url, 'has a badly percent-encoded user or password')
      }
    }
    const username = decode(colon >= 0 ? auth.slice(0, colon) : auth)
    if (colon >= 0) credentials.password = decode(auth.slice(colon + 1))
    if (username !== '') credentials.username = username
  }
  const slash = rest.indexOf('/')
  const path = slash >= 0 ? rest.slice(slash + 1) : ''
  const hosts = (slash >= 0 ? rest.slice(0, slash) : rest).split(',')
  if (path.includes('?') || hosts.some((h) => h.includes('?')))
    throw bad(url, 'has query parameters, which are not supported')
  let database = 0
  if (path !== '') {
    if (cluster) throw bad(url, `names database ${JSON.stringify(path)}, but Redis Cluster has only database 0`)
    if (!/^\d{1,5}$/.test(path)) throw bad(url, `names database ${JSON.stringify(path)}, which is not a number`)
    database = Number(path)
  }
  if (!cluster && hosts.length !== 1) throw bad(url, 'lists several hosts: use redis+cluster:// for a cluster')
  const endpoints = hosts.map((host) => hostPort(url, host))
  return { cluster, endpoints, database, credentials, where: hosts.join(',') }
}

const DEFAULTS = {
  prefix: 'cubby',
  connectTimeoutMs: 5000,
  commandTimeoutMs: 5000,
  sweepIntervalMs: 5000,
  expiryGraceMs: 3_600_000,
  heartbeatMs: 5000,
} as const satisfies Required<RedisOptions>

const KNOWN = Object.keys(DEFAULTS)

/** Validates backend options; an unknown one is an `InvalidConfigError` naming it. */
export function resolveOptions(url: string, options: Readonly<Record<string, unknown>>): ResolvedOptions {
  for (const name of Object.keys(options)) {
    if (!KNOWN.includes(name))
      throw new InvalidConfigError(name, `is not an option of the redis backend (known: ${KNOWN.join(', ')})`)
  }
  const prefix = options.prefix ?? DEFAULTS.prefix
  if (typeof prefix !== 'string' || prefix === '' || /[{}\s]/.test(prefix)) {
    throw new InvalidConfigError('prefix', 'must be a non-empty string without braces or whitespace, e.g. "myapp"')
  }
  const positive = (name: Exclude<keyof RedisOptions, 'prefix'>) => {
    const value = options[name] ?? DEFAULTS[name]
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
      throw new InvalidConfigError(name, `must be a positive integer of milliseconds, got ${String(value)}`)
    }
    return value
  }
  return {
    ...parseUrl(url),
    prefix,
    connectTimeoutMs: positive('connectTimeoutMs'),
    commandTimeoutMs: positive('commandTimeoutMs'),
    sweepIntervalMs: positive('sweepIntervalMs'),
    expiryGraceMs: positive('expiryGraceMs'),
    heartbeatMs: positive('heartbeatMs'),
  }
}
