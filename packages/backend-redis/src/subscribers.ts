import type { RedisClientType } from 'redis'
import type { Endpoint } from './options.js'

/** A subscriber connection: a plain client, never reconnecting by itself (a new one replaces a lost one). */
export type SubscriberClient = RedisClientType

/** How the pool finds and opens subscriber connections. */
export interface SubscriberSource {
  /** The node that serves `channel` (a cluster: the master of its slot). */
  locate(channel: string): Endpoint
  /** A new client for that node, not yet connected, with reconnection switched off. */
  create(endpoint: Endpoint): SubscriberClient
  /** Called when a node answered MOVED: refresh the slot map before trying again. */
  moved(): Promise<void>
}

interface Node {
  client: SubscriberClient
  connecting: Promise<unknown>
  /** Channel -> what to call when the subscription may have missed messages. */
  channels: Map<string, (error: Error) => void>
}

/**
 * Subscriber connections for sharded pub/sub, one per node, opened on first use. They are ours, not the cluster
 * client's: any sign that messages may have been lost — the connection dropping, the server moving a channel's
 * slot away (`sunsubscribe` it did not ask for) — is reported to the subscriptions concerned and the connection is
 * dropped, never silently resubscribed. Nothing is queued on a connection that is down.
 */
export class Subscribers {
  private readonly nodes = new Map<string, Node>()

  constructor(private readonly source: SubscriberSource) {}

  /**
   * Subscribes `listener` to `channel` and resolves once the server acknowledged it, with a function that ends the
   * subscription. `lost` is called at most once, if messages may have been missed; the subscription is over then.
   */
  async subscribe(
    channel: string,
    listener: (message: Buffer) => void,
    lost: (error: Error) => void,
  ): Promise<() => void> {
    for (let attempt = 0; ; attempt++) {
      const endpoint = this.source.locate(channel)
      const address = `${endpoint.host}:${endpoint.port}`
      const node = this.node(address, endpoint)
      await node.connecting
      if (this.nodes.get(address) !== node) throw new Error(`the subscriber connection to ${address} dropped`)
      node.channels.set(channel, lost)
      try {
        await node.client.sSubscribe(channel, listener, true)
      } catch (error) {
        node.channels.delete(channel)
        if (attempt < 3 && /^MOVED/.test(String((error as Error)?.message))) {
          await this.source.moved()
          continue
        }
        throw error
      }
      return () => {
        if (node.channels.get(channel) !== lost) return
        node.channels.delete(channel)
        // Only on a live connection: an unsubscribe queued on a dead one would wait forever.
        if (node.client.isReady) void node.client.sUnsubscribe(channel, listener, true).catch(() => {})
      }
    }
  }

  /** Drops every subscriber connection at once (nothing is waited for). */
  destroy(): void {
    for (const [address, node] of this.nodes) this.drop(address, node, new Error('the backend is closing'), false)
  }

  private node(address: string, endpoint: Endpoint): Node {
    const known = this.nodes.get(address)
    if (known) return known
    const client = this.source.create(endpoint)
    const node: Node = { client, connecting: Promise.resolve(), channels: new Map() }
    const fail = (why: string) => () =>
      this.drop(address, node, new Error(`the subscriber connection to ${address} ${why}`))
    client.on('error', fail('failed'))
    client.on('end', fail('closed'))
    client.on('reconnecting', fail('dropped'))
    client.on('sharded-channel-moved', (channel: string) => {
      const lost = node.channels.get(channel)
      node.channels.delete(channel)
      lost?.(new Error(`the Redis Cluster moved the slot of ${channel} to another node`))
    })
    node.connecting = client.connect().catch((error: unknown) => {
      this.drop(address, node, error instanceof Error ? error : new Error(String(error)))
      throw error
    })
    node.connecting.catch(() => {}) // the first subscriber reports it
    this.nodes.set(address, node)
    return node
  }

  private drop(address: string, node: Node, error: Error, notify = true): void {
    if (this.nodes.get(address) !== node) return
    this.nodes.delete(address)
    const lost = [...node.channels.values()]
    node.channels.clear()
    try {
      node.client.destroy()
    } catch {
      // already closed
    }
    if (notify) for (const report of lost) report(error)
  }
}
