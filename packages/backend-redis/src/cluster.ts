import { createClient, createCluster, type RedisClientType, type RedisClusterType } from 'redis'
import { bounded, type Connection, type ConnectState, destroy, nodeOptions, typeMapping } from './connection.js'
import { isAuthError, isConnectionLoss } from './errors.js'
import { hashSlot } from './keys.js'
import type { ResolvedOptions } from './options.js'
import { Subscribers } from './subscribers.js'

/** How often the slot map is re-read while a known master is unreachable (a failover may be under way). */
const DOWN_REFRESH_MS = 1000
/** The least time between two refreshes triggered by errors. */
const MIN_REFRESH_GAP_MS = 200

/**
 * Keeps the cluster client's slot map current. node-redis re-reads it only after a MOVED/ASK reply, and a call for
 * a dead master's slots fails at once (no offline queue) without ever reaching a node that would answer MOVED: after
 * a failover the client would never learn of the promoted replica. So the map is re-read whenever a node errors or
 * drops, when a call fails for want of a connection, and every second while a known master is unreachable.
 */
class SlotMap {
  private running: Promise<void> | undefined
  private last = 0
  private readonly timer: NodeJS.Timeout

  constructor(
    private readonly cluster: RedisClusterType,
    private readonly options: ResolvedOptions,
  ) {
    this.timer = setInterval(() => {
      if (this.cluster.masters.some((master) => !master.client?.isReady)) void this.refresh(true)
    }, DOWN_REFRESH_MS)
    this.timer.unref()
  }

  /** Re-reads the slot map from a node that answers (rate-limited unless `force`); never rejects. */
  refresh(force = false): Promise<void> {
    if (this.running) return this.running
    if (!force && Date.now() - this.last < MIN_REFRESH_GAP_MS) return Promise.resolve()
    this.running = this.rediscover()
      .catch(() => {}) // the next trigger tries again
      .finally(() => {
        this.last = Date.now()
        this.running = undefined
      })
    return this.running
  }

  stop(): void {
    clearInterval(this.timer)
  }

  private async rediscover(): Promise<void> {
    const live = this.cluster.masters.map((master) => master.client).find((client) => client?.isReady)
    // rediscover() starts from the options of the client it is given, then falls back to the seed nodes.
    const start = live ?? { options: { socket: { ...this.options.endpoints[0] } } }
    await this.cluster._slots.rediscover(start as never)
  }
}

const TRYAGAIN_RETRIES = 5

/** Opens a connection to a Redis Cluster from its seed nodes. */
export async function connectCluster(options: ResolvedOptions, state: ConnectState): Promise<Connection> {
  const cluster = createCluster({
    rootNodes: options.endpoints.map((endpoint) => ({ socket: { host: endpoint.host, port: endpoint.port } })),
    // Every node the client discovers gets these too: credentials, TLS, no offline queue.
    defaults: nodeOptions(options, state, undefined),
  }) as unknown as RedisClusterType
  const slots = new SlotMap(cluster, options)
  const refresh = () => void slots.refresh()
  // Each call reports its own failure; without a listener the event would throw. The last one explains a failed
  // discovery at open (it reports only "no root node available", e.g. for a wrong password).
  let lastError: unknown
  cluster.on('error', (error: unknown) => {
    lastError = error
  })
  cluster.on('node-error', refresh)
  cluster.on('node-reconnecting', refresh)
  try {
    await bounded(cluster.connect(), options.connectTimeoutMs, () => destroy(cluster))
  } catch (error) {
    slots.stop()
    throw isAuthError(lastError) ? lastError : error
  }
  const subscribers = new Subscribers({
    locate: (channel) => {
      const { master } = cluster.slots[hashSlot(channel)]!
      return { host: master.host, port: master.port }
    },
    create: (endpoint) => createClient(nodeOptions(options, state, endpoint, false)) as RedisClientType,
    moved: () => slots.refresh(true),
  })
  const send = async (key: string, args: Array<string | Buffer>): Promise<unknown> => {
    for (let attempt = 0; ; attempt++) {
      try {
        // The cluster client writes the routed slot into the options object: one object per call.
        return await cluster.sendCommand(key, false, args, { typeMapping })
      } catch (error) {
        if (isConnectionLoss(error)) refresh()
        // TRYAGAIN: a multi-key command met a slot half-way through a migration; nothing ran. It settles quickly.
        if (attempt < TRYAGAIN_RETRIES && /^TRYAGAIN/.test(String((error as Error)?.message))) {
          await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt))
          continue
        }
        throw error
      }
    }
  }
  return {
    cluster: true,
    send,
    subscribers,
    everyMaster: ((args: Array<string | Buffer>, settled?: boolean) => {
      const runs = cluster.masters.map(async (master) => (await cluster.nodeClient(master)).sendCommand(args))
      return settled ? Promise.allSettled(runs) : Promise.all(runs)
    }) as Connection['everyMaster'],
    close: () => {
      slots.stop()
      subscribers.destroy()
      destroy(cluster)
    },
  }
}
