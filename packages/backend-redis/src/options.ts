import { InvalidConfigError } from '@cubby/core/backend'

/** Options of the Redis backend, given to `openCubby({ url: 'redis://…', ...options })`. */
export interface RedisOptions {
  /** First part of every key, so several apps can share one database. No `{`, `}` or spaces. @default 'cubby' */
  prefix?: string
  /** How long opening waits for a connection before failing with `BackendError`. @default 5000 */
  connectTimeoutMs?: number
  /** How often expired entries are reclaimed in the background (they are also reclaimed before usage, scopes and a quota refusal). @default 5000 */
  sweepIntervalMs?: number
  /** Redis deletes an expired entry itself this long after its expiry, as a backstop; the sweep normally comes first. @default 3600000 */
  expiryGraceMs?: number
}

/** Validated options plus where to connect. */
export interface ResolvedOptions extends Required<RedisOptions> {
  urls: string[]
  cluster: boolean
  /** host:port list for messages. */
  where: string
}

/**
 * Parses `redis://[user:pass@]host:port[/db]`, `rediss://…` (TLS), and `redis+cluster://[user:pass@]h1:p1,h2:p2`
 * (`rediss+cluster://` for TLS) into connection URLs for the client.
 */
export function parseUrl(url: string): { urls: string[]; cluster: boolean; where: string } {
  const match = /^(rediss?)(\+cluster)?:\/\/(.*)$/i.exec(url)
  if (!match)
    throw new InvalidConfigError('url', `${JSON.stringify(url)} is not a redis://, rediss:// or redis+cluster:// URL`)
  const scheme = match[1]!.toLowerCase()
  const rest = match[3]!
  if (!match[2]) {
    try {
      const parsed = new URL(`${scheme}://${rest}`)
      if (!parsed.hostname) throw new Error('no host')
      return { urls: [`${scheme}://${rest}`], cluster: false, where: parsed.host }
    } catch (error) {
      throw new InvalidConfigError(
        'url',
        `${JSON.stringify(url)} is not a valid Redis URL (${(error as Error).message})`,
      )
    }
  }
  const at = rest.lastIndexOf('@')
  const auth = at >= 0 ? rest.slice(0, at + 1) : ''
  const hosts = (at >= 0 ? rest.slice(at + 1) : rest).replace(/\/.*$/, '').split(',').filter(Boolean)
  if (hosts.length === 0 || hosts.some((host) => !/^[^:/]+:\d+$/.test(host))) {
    throw new InvalidConfigError('url', `${JSON.stringify(url)} must list cluster nodes as host:port,host:port`)
  }
  return { urls: hosts.map((host) => `${scheme}://${auth}${host}`), cluster: true, where: hosts.join(',') }
}

const KNOWN = ['prefix', 'connectTimeoutMs', 'sweepIntervalMs', 'expiryGraceMs']

/** Validates backend options; unknown ones are an `InvalidConfigError` naming them. */
export function resolveOptions(url: string, options: Readonly<Record<string, unknown>>): ResolvedOptions {
  for (const name of Object.keys(options)) {
    if (!KNOWN.includes(name))
      throw new InvalidConfigError(name, `is not an option of the redis backend (known: ${KNOWN.join(', ')})`)
  }
  const prefix = options.prefix ?? 'cubby'
  if (typeof prefix !== 'string' || prefix === '' || /[{}\s]/.test(prefix)) {
    throw new InvalidConfigError('prefix', 'must be a non-empty string without braces or whitespace')
  }
  const positive = (name: string, fallback: number) => {
    const value = options[name] ?? fallback
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw new InvalidConfigError(name, `must be a positive integer of milliseconds, got ${String(value)}`)
    }
    return value
  }
  return {
    ...parseUrl(url),
    prefix,
    connectTimeoutMs: positive('connectTimeoutMs', 5000),
    sweepIntervalMs: positive('sweepIntervalMs', 5000),
    expiryGraceMs: positive('expiryGraceMs', 3_600_000),
  }
}
