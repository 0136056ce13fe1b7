import { randomBytes } from 'node:crypto'
import type { Deadlines } from '@cubby/core/backend'
import {
  BackendError,
  type ChangeEvent,
  type ScopePath,
  type WatchSink,
  type WatchSubscription,
} from '@cubby/core/backend'
import type { Connection } from './connection.js'
import { channelKey, scopeKeys, sequenceKey } from './keys.js'
import type { Scripts } from './scripts.js'

interface Channel {
  readonly name: string
  readonly seqKey: string
  readonly sinks: Set<WatchSink>
  state: 'starting' | 'ready' | 'ended'
  /** The last sequence number seen: every later message must follow it without a gap. */
  last: number
  /** The probe this process waits for, and the deadline that ends the channel if it does not come. */
  token: string | undefined
  cancelProbe: (() => void) | undefined
  unsubscribe: (() => void) | undefined
  ready: Promise<void>
  settleReady(error?: Error): void
}

/** What the feed needs besides the connection. */
export interface FeedDeps {
  connection: Connection
  scripts: Scripts
  deadlines: Deadlines
  prefix: string
  heartbeatMs: number
  seqTtlMs: number
  fail(error: unknown): Error
}

/**
 * Cross-instance watch over sharded pub/sub. The write and clear scripts publish each scope's changes on its channel
 * in commit order, numbered by the scope's sequence counter (lua/events.ts). One subscription per channel serves
 * every watcher of the scope in this process. A watch never goes silently deaf: it starts by sending a probe
 * through the server and is ready when its own probe comes back (the baseline number); then every message must
 * carry the next number, and a probe every `heartbeatMs` must come back in time with the current one. A gap, a
 * missing probe, a dropped subscriber connection or a slot that moved away ends the watch with `BackendError`.
 */
export class Feed {
  private readonly channels = new Map<string, Channel>()
  private readonly timer: NodeJS.Timeout

  constructor(private readonly deps: FeedDeps) {
    this.timer = setInterval(() => {
      for (const channel of this.channels.values()) if (channel.state === 'ready' && !channel.token) this.probe(channel)
    }, deps.heartbeatMs)
    this.timer.unref()
  }

  subscribe(path: ScopePath, sink: WatchSink): WatchSubscription {
    const scope = scopeKeys(this.deps.prefix, path)
    const name = channelKey(scope)
    let channel = this.channels.get(name)
    if (!channel) {
      channel = this.open(name, sequenceKey(scope))
      this.channels.set(name, channel)
      void this.start(channel)
    }
    channel.sinks.add(sink)
    const current = channel
    return {
      ready: current.ready,
      close: () => {
        current.sinks.delete(sink)
        if (current.sinks.size === 0) this.end(current)
      },
    }
  }

  /** Ends every channel (the backend is closing: core has closed the watches already). */
  close(): void {
    clearInterval(this.timer)
    for (const channel of [...this.channels.values()]) this.end(channel)
  }

  private open(name: string, seqKey: string): Channel {
    let settle!: (error?: Error) => void
    const ready = new Promise<void>((resolve, reject) => {
      settle = (error) => (error ? reject(error) : resolve())
    })
    ready.catch(() => {}) // reported to each watcher through its own `ready`
    return {
      name,
      seqKey,
      sinks: new Set(),
      state: 'starting',
      last: 0,
      token: undefined,
      cancelProbe: undefined,
      unsubscribe: undefined,
      ready,
      settleReady: settle,
    }
  }

  /** Subscribes and sends the first probe; the watch is ready when it comes back, all within one deadline. */
  private async start(channel: Channel): Promise<void> {
    const { deps } = this
    channel.cancelProbe = deps.deadlines.start(() =>
      this.end(
        channel,
        new BackendError(
          `a watch could not start within ${deps.deadlines.ms} ms (its subscription or its first probe got no ` +
            "answer; is the server down, or the cluster moving this scope's slot?): retry in a moment",
        ),
      ),
    )
    const subscribing = deps.connection.subscribers.subscribe(
      channel.name,
      (message) => this.receive(channel, message),
      (error) => this.end(channel, this.lost(error)),
    )
    try {
      channel.unsubscribe = await subscribing
    } catch (error) {
      this.end(channel, deps.fail(error))
      return
    }
    if (channel.state === 'ended')
      channel.unsubscribe() // ended (e.g. at the deadline) while subscribing
    else this.sendProbe(channel)
  }

  /** A heartbeat: a probe through the server that must come back in time with the current sequence number. */
  private probe(channel: Channel): void {
    const { deps } = this
    channel.cancelProbe = deps.deadlines.start(() =>
      this.end(
        channel,
        new BackendError(
          `a watch got no heartbeat from Redis within ${deps.deadlines.ms} ms: changes may have been missed; ` +
            'start a new watch and re-read what it covers',
        ),
      ),
    )
    this.sendProbe(channel)
  }

  private sendProbe(channel: Channel): void {
    const { deps } = this
    const token = randomBytes(8).toString('hex')
    channel.token = token
    const args = [deps.prefix, deps.connection.cluster ? 'c' : 's', channel.name, token, String(deps.seqTtlMs)]
    deps.scripts.probe.run(deps.connection, [channel.seqKey], args).catch((error: unknown) => {
      if (channel.token === token) this.end(channel, deps.fail(error))
    })
  }

  private receive(channel: Channel, message: Buffer): void {
    if (channel.state === 'ended') return
    let data: unknown[]
    try {
      data = JSON.parse(message.toString('utf8'))
    } catch (error) {
      this.end(channel, this.deps.fail(error))
      return
    }
    if (data[0] === 'p') {
      const [, token, seq] = data as [string, string, number]
      if (channel.state === 'starting') {
        // Messages before our own probe came back belong to writes before the watch started.
        if (token !== channel.token) return
        channel.last = seq
        channel.state = 'ready'
        this.probeArrived(channel)
        channel.settleReady()
        return
      }
      if (seq !== channel.last) {
        this.end(channel, this.gap(channel.last, seq))
        return
      }
      if (token === channel.token) this.probeArrived(channel)
      return
    }
    if (channel.state !== 'ready') return
    const seq = data[0] as number
    if (seq !== channel.last + 1) {
      this.end(channel, this.gap(channel.last + 1, seq))
      return
    }
    channel.last = seq
    for (let i = 1; i < data.length; ) {
      const type = data[i]
      const key = data[i + 1] as string
      if (type === 's') {
        const version = data[i + 2] as string
        for (const sink of channel.sinks) sink.event({ type: 'set', key, version } satisfies ChangeEvent)
        i += 3
      } else {
        for (const sink of channel.sinks) sink.event({ type: 'delete', key })
        i += 2
      }
    }
  }

  private probeArrived(channel: Channel): void {
    channel.cancelProbe?.()
    channel.cancelProbe = undefined
    channel.token = undefined
  }

  private gap(expected: number, got: number): BackendError {
    return new BackendError(
      `a watch expected change number ${expected} from Redis and got ${got}: changes were missed (a failover or a ` +
        'lost connection); start a new watch and re-read what it covers',
    )
  }

  private lost(error: Error): BackendError {
    return new BackendError(
      `a watch lost its subscription (${error.message}): changes may have been missed; start a new watch and ` +
        're-read what it covers',
      { cause: error },
    )
  }

  /** Ends a channel; with an error, its watchers get it (and a watch still starting rejects `ready`). */
  private end(channel: Channel, error?: Error): void {
    if (channel.state === 'ended') return
    const starting = channel.state === 'starting'
    channel.state = 'ended'
    if (this.channels.get(channel.name) === channel) this.channels.delete(channel.name)
    channel.cancelProbe?.()
    channel.unsubscribe?.()
    const failure = error ?? new BackendError('the watch was closed')
    if (starting) channel.settleReady(failure)
    if (error) for (const sink of channel.sinks) sink.error(error)
    channel.sinks.clear()
  }
}
