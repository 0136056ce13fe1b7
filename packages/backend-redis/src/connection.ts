import { BackendError } from '@cubby/core/backend'
import { createClient, createCluster, RESP_TYPES } from 'redis'

type Arg = string | Buffer

/** What the backend needs from a connection, the same for one server and for a cluster. */
export interface Connection {
  /** Sends a command routed by `key` (a cluster sends it to the key's slot). Bulk replies arrive as Buffers. */
  send(key: string, args: Arg[]): Promise<unknown>
  /** Subscribes to a sharded channel on a subscriber connection created on first use; resolves when acknowledged. */
  subscribe(channel: string, listener: (message: Buffer) => void): Promise<void>
  unsubscribe(channel: string, listener: (message: Buffer) => void): Promise<void>
  /** Called when a subscriber connection drops: messages published meanwhile may be lost. */
  onSubscriberLost(handler: (error: Error) => void): void
  close(): Promise<void>
}

/** Where and how to connect. */
export interface ConnectionConfig {
  /** One URL for a server; the seed nodes for a cluster. */
  urls: string[]
  cluster: boolean
  connectTimeoutMs: number
}

/** Backoff while the server is unreachable: quick at first, then once a second, forever. */
const reconnectStrategy = (retries: number) => Math.min(50 * 2 ** Math.min(retries, 5), 1000)

const typeMapping = { [RESP_TYPES.BLOB_STRING]: Buffer } as const

/**
 * Opens a connection. Commands fail at once while disconnected (no offline queue: a call must not wait for a server
 * that may never come back) and the client reconnects by itself. The driver's own `timeout` only covers commands
 * not yet written, so the per-call deadline is core's (the backend declares `capabilities.timeouts: false`).
 */
export async function connect(config: ConnectionConfig): Promise<Connection> {
  const socket = { connectTimeout: config.connectTimeoutMs, reconnectStrategy }
  let lostHandler: ((error: Error) => void) | undefined
  const lost = (error: unknown) => lostHandler?.(error instanceof Error ? error : new Error(String(error)))

  if (config.cluster) {
    const cluster = createCluster({
      rootNodes: config.urls.map((url) => ({ url })),
      defaults: { socket, disableOfflineQueue: true, disableClientInfo: true },
    })
    cluster.on('error', () => {}) // each call reports its own failure; without a listener the event would throw
    cluster.on('node-error', () => {})
    cluster.on('node-reconnecting', (node: unknown) =>
      lost(new Error(`cluster node ${describeNode(node)} reconnecting`)),
    )
    await bounded(cluster.connect(), config.connectTimeoutMs, () => void cluster.destroy())
    return {
      // The cluster client writes the routed slot into the options object: one object per call.
      send: (key, args) => cluster.sendCommand(key, false, args, { typeMapping }),
      subscribe: (channel, listener) => cluster.sSubscribe(channel, listener, true),
      unsubscribe: (channel, listener) => cluster.sUnsubscribe(channel, listener, true),
      onSubscriberLost: (handler) => {
        lostHandler = handler
      },
      close: () => cluster.close(),
    }
  }

  const client = createClient({ url: config.urls[0], socket, disableOfflineQueue: true, disableClientInfo: true })
  client.on('error', () => {}) // as above
  await bounded(client.connect(), config.connectTimeoutMs, () => client.destroy())
  let subscriber: ReturnType<typeof client.duplicate> | undefined
  const subscribed = async () => {
    if (!subscriber) {
      const next = client.duplicate()
      next.on('error', () => {})
      next.on('reconnecting', () => lost(new Error('the subscriber connection dropped')))
      subscriber = next
      await next.connect()
    }
    return subscriber
  }
  const options = { typeMapping }
  return {
    send: (_key, args) => client.sendCommand(args, options),
    subscribe: async (channel, listener) => (await subscribed()).sSubscribe(channel, listener, true),
    unsubscribe: async (channel, listener) => {
      await subscriber?.sUnsubscribe(channel, listener, true)
    },
    onSubscriberLost: (handler) => {
      lostHandler = handler
    },
    close: async () => {
      await Promise.allSettled([client.close(), subscriber?.close()])
    },
  }
}

/** The driver's connect() retries forever against a down server: give up after `ms`. */
async function bounded(connecting: Promise<unknown>, ms: number, abandon: () => void): Promise<void> {
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

function describeNode(node: unknown): string {
  const { host, port } = (node ?? {}) as { host?: string; port?: number }
  return host === undefined ? 'unknown' : `${host}:${port}`
}

/** A `BackendError` that says what went wrong with Redis and what to do. */
export function redisError(error: unknown, where: string): BackendError {
  if (error instanceof BackendError) return error
  const name = (error as Error)?.constructor?.name ?? 'Error'
  const detail = error instanceof Error ? error.message : String(error)
  let message: string
  if (name === 'ClientOfflineError' || name === 'ClientClosedError' || name === 'SocketClosedUnexpectedlyError') {
    message = `Redis at ${where} is unreachable; the client keeps reconnecting in the background, retry later`
  } else if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|no connection within/.test(detail)) {
    message = `cannot connect to Redis at ${where}; check that it runs and that the URL is right`
  } else if (name === 'ErrorReply' || name === 'SimpleError' || name === 'BlobError') {
    message = `Redis at ${where} refused a command`
  } else {
    message = `Redis at ${where} failed`
  }
  return new BackendError(`${message} (${name}: ${detail})`, { cause: error })
}
