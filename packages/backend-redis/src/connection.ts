import { createClient, RESP_TYPES, type RedisClientOptions, type RedisClientType } from 'redis'
import { isAuthError } from './errors.js'
import type { Endpoint, ResolvedOptions } from './options.js'
import { Subscribers } from './subscribers.js'

export type Arg = string | Buffer

/** What the backend needs from Redis, the same for one server and for a cluster. */
export interface Connection {
  readonly cluster: boolean
  /** Sends a command routed by `key` (a cluster sends it to the key's slot). Bulk replies arrive as Buffers. */
  send(key: string, args: Arg[]): Promise<unknown>
  /** Subscriber connections for sharded pub/sub, opened on first use. */
  readonly subscribers: Subscribers
  /** Runs a command on every master (the server, or each cluster master); rejects on the first failure. */
  everyMaster(args: Arg[]): Promise<unknown[]>
  /** The same, reporting each master's outcome. */
  everyMaster(args: Arg[], settled: true): Promise<PromiseSettledResult<unknown>[]>
  /** Drops every connection at once; callers let their calls settle first. */
  close(): void
}

export const typeMapping = { [RESP_TYPES.BLOB_STRING]: Buffer } as const

/** Backoff while a server is unreachable: quick at first, then once a second, forever. */
const backoff = (retries: number) => Math.min(50 * 2 ** Math.min(retries, 5), 1000)

/** Shared state of one backend's connections: until the first connection is up, bad credentials are final. */
export interface ConnectState {
  opened: boolean
}

/**
 * Client options for one node: credentials and TLS from the URL, no offline queue (a call must not wait for a server
 * that may never come back: it fails at once and the client reconnects in the background), and reconnection with
 * backoff — except for bad credentials at open, which fail the open at once instead of retrying until the timeout.
 */
export function nodeOptions(
  options: ResolvedOptions,
  state: ConnectState,
  endpoint: Endpoint | undefined,
  reconnect = true,
): RedisClientOptions {
  const { credentials } = options
  const socket: Record<string, unknown> = {
    connectTimeout: options.connectTimeoutMs,
    reconnectStrategy: reconnect
      ? (retries: number, cause: unknown) => (!state.opened && isAuthError(cause) ? cause : backoff(retries))
      : false,
  }
  if (endpoint) {
    socket.host = endpoint.host
    socket.port = endpoint.port
  }
  if (credentials.tls) socket.tls = true
  const result: Record<string, unknown> = { socket, disableOfflineQueue: true, disableClientInfo: true }
  if (credentials.username !== undefined) result.username = credentials.username
  if (credentials.password !== undefined) result.password = credentials.password
  return result as RedisClientOptions
}

/** The driver's connect() retries forever against a down server: give up after `ms`. */
export async function bounded(connecting: Promise<unknown>, ms: number, abandon: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abandon()
      reject(new Error(`no connection within ${ms} ms (connectTimeoutMs)`))
    }, ms)
  })
  try {
    await Promise.race([connecting, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Drops a client without waiting: its queue is rejected and its socket closed. (The driver's graceful close() waits
 * for every queued reply, forever on a stalled server, and then cannot be destroyed any more; callers let their own
 * calls settle first.)
 */
export function destroy(client: { destroy(): unknown }): void {
  try {
    client.destroy()
  } catch {
    // already closed
  }
}

/** Opens a connection to one server. */
export async function connectServer(options: ResolvedOptions, state: ConnectState): Promise<Connection> {
  const endpoint = options.endpoints[0]!
  const config = { ...nodeOptions(options, state, endpoint), database: options.database }
  const client = createClient(config) as unknown as RedisClientType
  client.on('error', () => {}) // each call reports its own failure; without a listener the event would throw
  await bounded(client.connect(), options.connectTimeoutMs, () => client.destroy())
  const subscribers = new Subscribers({
    locate: () => endpoint,
    create: () =>
      createClient({ ...nodeOptions(options, state, endpoint, false), database: options.database }) as RedisClientType,
    moved: async () => {},
  })
  const commandOptions = { typeMapping }
  return {
    cluster: false,
    send: (_key, args) => client.sendCommand(args, commandOptions),
    subscribers,
    everyMaster: ((args: Arg[], settled?: boolean) =>
      settled
        ? Promise.allSettled([client.sendCommand(args)])
        : Promise.all([client.sendCommand(args)])) as Connection['everyMaster'],
    close: () => {
      subscribers.destroy()
      destroy(client)
    },
  }
}
