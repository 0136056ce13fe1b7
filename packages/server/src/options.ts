import type { IncomingMessage } from 'node:http'
import type { Cubby } from '@cubby/core'
import { InvalidConfigError } from '@cubby/core'
import { socketAddress } from './client-address.js'
import { Keyring, type KeyringOptions } from './tokens.js'

/** Options of `createCubbyServer`. */
export interface CubbyServerOptions {
  /** The open cubby to serve: its backend, limits, quotas and clock apply to every request. */
  cubby: Cubby
  /** Keys that verify tokens (the first signs new ones with `mintToken`). */
  keys: Keyring | KeyringOptions
  /** Accept root tokens (the whole store, for host tools). Never needed for plugins. @default false */
  allowRoot?: boolean
  /** Requests one connection may have unanswered; more is a protocol error. @default 256 */
  maxInFlight?: number
  /** Largest frame, in bytes. @default limits.maxValueBytes + 1 MiB */
  maxFrameBytes?: number
  /** Open connections; more are refused with HTTP 503. @default 1024 */
  maxConnections?: number
  /**
   * Connections open but not yet authenticated (no AUTH accepted); more are refused with HTTP 503, so clients
   * without a token cannot take every slot. @default max(2, maxConnections / 8), rounded down (128)
   */
  maxUnauthenticated?: number
  /**
   * Of `maxUnauthenticated`, how many one client address may hold (see `clientAddress`), so a single client that
   * keeps opening connections without a token cannot take the whole budget. Half of it by default, because the
   * usual clients (plugin processes on the host's own machine) all share one address and may start at once.
   * @default max(1, maxUnauthenticated / 2), rounded down (64)
   */
  maxUnauthenticatedPerAddress?: number
  /**
   * The address a WebSocket request's connection is counted under for `maxUnauthenticatedPerAddress`. Behind a
   * reverse proxy every client shares the proxy's address: derive it from the header your proxy sets (and only
   * trust that header from the proxy). If it throws, the request is refused with HTTP 500. @default the TCP peer's
   * address; IPv6 grouped by its /64 prefix
   */
  clientAddress?: (request: IncomingMessage) => string
  /**
   * Web origins allowed to open a connection from a browser: a request carrying an `Origin` header not in this list
   * is refused with HTTP 403. Requests without `Origin` (Node, other non-browser clients) are not affected. The
   * protocol authenticates with a token inside the connection, never with cookies, so a foreign page gains nothing
   * it does not already hold; this closes the door anyway. @default undefined (any origin)
   */
  allowedOrigins?: readonly string[]
  /**
   * Connections holding a session of one context (root, or workspace + plugin + user); an AUTH beyond it is refused
   * (`BACKEND`), so one token cannot take every slot. @default max(1, maxConnections / 4), rounded down (256)
   */
  maxConnectionsPerContext?: number
  /** A connection with no request and no watch for this long is closed. @default 60000 */
  idleTimeoutMs?: number
  /** A frame that started arriving must be complete within this. @default 30000 */
  bodyTimeoutMs?: number
  /**
   * A new connection must authenticate a session within this; an authenticated connection whose sessions have all
   * expired or been released for this long is closed too (4401). @default 10000
   */
  authTimeoutMs?: number
  /**
   * A connection the client has sent nothing on (no frame, no pong) for this long is pinged (a WebSocket ping,
   * which every client answers on its own). @default 30000
   */
  pingIntervalMs?: number
  /** A pinged connection that sends nothing back within this is cut (its watches wait to be resumed). @default 10000 */
  pongTimeoutMs?: number
  /**
   * The clock token expiry is judged by (epoch ms); a token's session answers `UNAUTHORIZED`, and its watches end,
   * from its `exp` on. @default the cubby's clock
   */
  clock?: () => number
  /**
   * Bytes queued to a client that does not read before its connection is closed. At least 8 MiB by default, so a
   * small `maxFrameBytes` does not cut a client that reads normally but has many answers in flight.
   * @default max(2 * maxFrameBytes, 8 MiB)
   */
  maxBufferedBytes?: number
  /** How long a watch outlives its connection, waiting to be resumed. @default 30000 */
  watchResumeMs?: number
  /** Events each watch keeps for a resume. @default 10000 */
  watchReplay?: number
  /** Watches per connection. @default 1000 */
  maxWatches?: number
  /** Decode every written value with the server's codec and refuse what it cannot read. @default true */
  verifyValues?: boolean
}

/** Options with defaults applied. */
export type ResolvedServerOptions = Required<Omit<CubbyServerOptions, 'keys' | 'clock' | 'allowedOrigins'>> & {
  keys: Keyring
  clock: (() => number) | undefined
  /** Allowed `Origin` values; undefined: any. */
  allowedOrigins: ReadonlySet<string> | undefined
}

function positive(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new InvalidConfigError(name, `must be a positive integer, got ${String(value)}`)
  }
  return value
}

function origins(value: unknown): ReadonlySet<string> | undefined {
  if (value === undefined) return undefined
  if (!Array.isArray(value) || !value.every((o) => typeof o === 'string' && o.length > 0)) {
    throw new InvalidConfigError('allowedOrigins', 'must be an array of origins such as "https://app.example"')
  }
  // Browsers send the serialized origin: scheme and host lower-cased, no trailing slash, no path.
  return new Set(value.map((o: string) => o.toLowerCase().replace(/\/+$/, '')))
}

/** Validates options and applies defaults. */
export function resolveServerOptions(options: CubbyServerOptions): ResolvedServerOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidConfigError('options', 'must be an object')
  const { cubby } = options
  if (typeof cubby?.scope !== 'function') throw new InvalidConfigError('cubby', 'must be an open Cubby')
  if (options.clock !== undefined && typeof options.clock !== 'function') {
    throw new InvalidConfigError('clock', 'must be a function returning epoch milliseconds')
  }
  const keys = options.keys instanceof Keyring ? options.keys : new Keyring(options.keys)
  const maxConnections = positive('maxConnections', options.maxConnections, 1024)
  const maxFrameBytes = positive('maxFrameBytes', options.maxFrameBytes, cubby.limits.maxValueBytes + (1 << 20))
  const maxUnauthenticated = positive(
    'maxUnauthenticated',
    options.maxUnauthenticated,
    Math.max(2, Math.floor(maxConnections / 8)),
  )
  if (options.clientAddress !== undefined && typeof options.clientAddress !== 'function') {
    throw new InvalidConfigError('clientAddress', 'must be a function of the upgrade request returning a string')
  }
  return {
    cubby,
    keys,
    allowRoot: options.allowRoot === true,
    maxInFlight: positive('maxInFlight', options.maxInFlight, 256),
    maxFrameBytes,
    maxConnections,
    maxUnauthenticated,
    maxUnauthenticatedPerAddress: positive(
      'maxUnauthenticatedPerAddress',
      options.maxUnauthenticatedPerAddress,
      Math.max(1, Math.floor(maxUnauthenticated / 2)),
    ),
    clientAddress: options.clientAddress ?? socketAddress,
    allowedOrigins: origins(options.allowedOrigins),
    maxConnectionsPerContext: positive(
      'maxConnectionsPerContext',
      options.maxConnectionsPerContext,
      Math.max(1, Math.floor(maxConnections / 4)),
    ),
    idleTimeoutMs: positive('idleTimeoutMs', options.idleTimeoutMs, 60_000),
    bodyTimeoutMs: positive('bodyTimeoutMs', options.bodyTimeoutMs, 30_000),
    authTimeoutMs: positive('authTimeoutMs', options.authTimeoutMs, 10_000),
    pingIntervalMs: positive('pingIntervalMs', options.pingIntervalMs, 30_000),
    pongTimeoutMs: positive('pongTimeoutMs', options.pongTimeoutMs, 10_000),
    clock: options.clock,
    maxBufferedBytes: positive('maxBufferedBytes', options.maxBufferedBytes, Math.max(2 * maxFrameBytes, 8 << 20)),
    watchResumeMs: positive('watchResumeMs', options.watchResumeMs, 30_000),
    watchReplay: positive('watchReplay', options.watchReplay, 10_000),
    maxWatches: positive('maxWatches', options.maxWatches, 1000),
    verifyValues: options.verifyValues !== false,
  }
}
