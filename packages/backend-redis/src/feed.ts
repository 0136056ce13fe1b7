import type { ChangeEvent, ScopePath, WatchSink, WatchSubscription } from '@cubby/core/backend'
import type { Connection } from './connection.js'
import { channelKey, scopeKeys } from './keys.js'

/**
 * Cross-instance watch over sharded pub/sub: the write and clear scripts publish each scope's changes on the
 * scope's channel, in commit order, from inside the script. One subscription per channel serves every watcher of
 * the scope in this process. A dropped subscriber connection may have missed messages, so watchers get an error.
 */
export class Feed {
  private readonly channels = new Map<
    string,
    { sinks: Set<WatchSink>; listener: (message: Buffer) => void; ready: Promise<void> }
  >()

  constructor(
    private readonly connection: Connection,
    private readonly prefix: string,
    private readonly fail: (error: unknown) => Error,
    private readonly subscribeTimeoutMs: number,
  ) {
    connection.onSubscriberLost((error) => {
      const failure = this.fail(error)
      for (const { sinks } of this.channels.values()) for (const sink of sinks) sink.error(failure)
      for (const [channel, { listener }] of this.channels)
        void this.connection.unsubscribe(channel, listener).catch(() => {})
      this.channels.clear()
    })
  }

  subscribe(path: ScopePath, sink: WatchSink): WatchSubscription {
    const channel = channelKey(scopeKeys(this.prefix, path))
    let entry = this.channels.get(channel)
    if (!entry) {
      const sinks = new Set<WatchSink>()
      const listener = (message: Buffer) => {
        let events: Array<[string, string, string?]>
        try {
          events = JSON.parse(message.toString('utf8'))
        } catch (error) {
          for (const target of sinks) target.error(this.fail(error))
          return
        }
        for (const [type, key, version] of events) {
          const event: ChangeEvent = type === 'd' ? { type: 'delete', key } : { type: 'set', key, version: version! }
          for (const target of sinks) target.event({ ...event })
        }
      }
      const ready = withTimeout(this.connection.subscribe(channel, listener), this.subscribeTimeoutMs)
      const created = { sinks, listener, ready }
      // A failed subscription must not be reused by the next watcher of this scope.
      ready.catch(() => {
        if (this.channels.get(channel) === created) this.channels.delete(channel)
      })
      entry = created
      this.channels.set(channel, entry)
    }
    entry.sinks.add(sink)
    const current = entry
    return {
      ready: current.ready.catch((error: unknown) => {
        throw this.fail(error)
      }),
      close: () => {
        current.sinks.delete(sink)
        if (current.sinks.size === 0 && this.channels.get(channel) === current) {
          this.channels.delete(channel)
          void this.connection.unsubscribe(channel, current.listener).catch(() => {}) // best effort; it is gone either way
        }
      },
    }
  }
}

/** Pub/sub commands carry no driver timeout: bound the wait for the acknowledgement. */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no SSUBSCRIBE acknowledgement within ${ms} ms`)), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}
