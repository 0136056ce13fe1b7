import { randomUUID } from 'node:crypto'
import { BackendError, type ScopePath, type WatchSink, type WatchSubscription } from '@cubby/core/backend'
import pg from 'pg'
import type { Statements } from './sql.js'
import { WATCHER_HEARTBEAT_MS, WATCHER_STALE_MS } from './tx.js'
import type { Writer } from './writer.js'

interface Subscriber {
  scope: number
  /** Only changes after this sequence number are delivered: those of writes that committed after registering. */
  after: number
  sink: WatchSink
}

const PAGE = 1000

function stalled(): BackendError {
  return new BackendError(
    `this process could not refresh its watch registrations for over ${WATCHER_STALE_MS / 2} ms (PostgreSQL unreachable, or the event loop blocked), so other processes may skip logging changes for it; watch again`,
  )
}

/** What the feed needs from the backend. */
export interface FeedContext {
  pool: pg.Pool
  sql: Statements
  writer: Writer
  /** Connection settings for the LISTEN connection. */
  clientConfig: pg.ClientConfig
  channel: string
  pollMs: number
  retentionMs: number
  fail(error: unknown): Error
}

/**
 * Cross-process watch: writers log changes to scopes a live watcher registered (`watchers`, refreshed by a
 * heartbeat) and NOTIFY; this feed reads the log by sequence number, in commit order, when notified, after a local
 * commit, and every `pollMs` anyway. A lost notification (or a dropped LISTEN connection) therefore delays events
 * but never loses or repeats one. What the feed cannot guarantee — the log pruned past what it read, or its
 * registrations not refreshed for long enough that writers may have stopped logging for it — ends every watch
 * with `BackendError`.
 */
export class ChangeFeed {
  private readonly token = randomUUID()
  private readonly subscribers = new Set<Subscriber>()
  private lastSeq = 0
  private lastBeat = 0
  private polling: Promise<void> | undefined
  private again = false
  private poller: NodeJS.Timeout | undefined
  private heartbeat: NodeJS.Timeout | undefined
  private listener: pg.Client | undefined
  private closed = false

  constructor(private readonly ctx: FeedContext) {}

  subscribe(path: ScopePath, sink: WatchSink): WatchSubscription {
    let subscriber: Subscriber | undefined
    let closed = false
    let scopeId: number | undefined
    const ready = this.ctx.writer
      .enqueue(async (tx) => {
        const { id } = (await tx.scopes([path], true))[0]!
        await tx.client.query({
          ...this.ctx.sql.registerWatcher,
          values: [this.token, id, tx.now, this.ctx.retentionMs],
        })
        const head = await tx.client.query<{ seq: number; pruned_to: number }>(this.ctx.sql.feedHead)
        const { seq, pruned_to } = head.rows[0]!
        return { id, seq: Math.max(seq, pruned_to), at: tx.now }
      })
      .then(({ id, seq, at }) => {
        scopeId = id
        if (closed) return
        if (this.subscribers.size === 0) {
          this.lastSeq = seq
          this.lastBeat = at
        }
        subscriber = { scope: id, after: seq, sink }
        this.subscribers.add(subscriber)
        this.start()
      })
    return {
      ready,
      close: () => {
        if (closed) return
        closed = true
        if (subscriber) this.subscribers.delete(subscriber)
        if (scopeId !== undefined && ![...this.subscribers].some((s) => s.scope === scopeId)) {
          const id = scopeId
          this.ctx.writer
            .enqueue((tx) => tx.client.query({ ...this.ctx.sql.unregister, values: [id, this.token] }))
            .catch(() => {}) // a registration that is not refreshed goes stale by itself
        }
        if (this.subscribers.size === 0) this.stop()
      },
    }
  }

  /** Reads and delivers new changes (one read at a time; a call during a read makes it read again after). */
  poll(): void {
    if (this.subscribers.size === 0) return
    if (this.polling) {
      this.again = true
      return
    }
    this.polling = this.read()
      .catch((error: unknown) => {
        // A failed read is retried by the next poll; only a lost guarantee ends the watches.
        if (error instanceof BackendError || Date.now() - this.lastBeat > WATCHER_STALE_MS / 2) this.failAll(error)
      })
      .finally(() => {
        this.polling = undefined
        if (this.again) {
          this.again = false
          this.poll()
        }
      })
  }

  private async read(): Promise<void> {
    if (Date.now() - this.lastBeat > WATCHER_STALE_MS / 2) throw stalled()
    const scopes = [...new Set([...this.subscribers].map((s) => s.scope))]
    for (;;) {
      const result = await this.ctx.pool.query<{
        seq: number | null
        scope: number
        key: Buffer
        version: number | null
        pruned_to: number
      }>({ ...this.ctx.sql.changesSince, values: [this.lastSeq, scopes, PAGE] })
      const first = result.rows[0]
      if (first && first.pruned_to > this.lastSeq) {
        throw new BackendError(
          'the change log was pruned past what this watch had read (it fell behind by more than changeRetentionMs); watch again, and raise changeRetentionMs if the consumer is slow',
        )
      }
      let count = 0
      for (const { seq, scope, key, version } of result.rows) {
        if (seq === null) continue
        count++
        this.lastSeq = seq
        const name = key.toString('utf8')
        for (const subscriber of this.subscribers) {
          if (subscriber.scope !== scope || seq <= subscriber.after) continue
          subscriber.sink.event(
            version === null
              ? { type: 'delete', key: name }
              : { type: 'set', key: name, version: version.toString(36) },
          )
        }
      }
      if (count < PAGE) return
    }
  }

  private failAll(error: unknown): void {
    const failure = error instanceof BackendError ? error : this.ctx.fail(error)
    for (const subscriber of [...this.subscribers]) subscriber.sink.error(failure)
    this.subscribers.clear()
    this.stop()
  }

  private start(): void {
    if (this.poller) return
    this.poller = setInterval(() => this.poll(), this.ctx.pollMs)
    this.poller.unref()
    this.heartbeat = setInterval(() => this.beat(), WATCHER_HEARTBEAT_MS)
    this.heartbeat.unref()
    this.listen()
  }

  /** Opens the LISTEN connection; when it drops, reads the log (nothing is lost) and listens again. */
  private listen(): void {
    if (this.listener || this.closed || !this.poller) return
    const client = new pg.Client(this.ctx.clientConfig)
    this.listener = client
    const retry = () => {
      if (this.listener !== client) return
      this.listener = undefined
      client.end().catch(() => {})
      const timer = setTimeout(() => this.listen(), 200)
      timer.unref()
    }
    client.on('error', retry)
    client.on('end', retry)
    client.on('notification', () => this.poll())
    client
      .connect()
      .then(() => client.query(`LISTEN "${this.ctx.channel}"`))
      .then(() => this.poll(), retry)
  }

  /** Refreshes this process's registrations and prunes stale ones. */
  private beat(): void {
    this.ctx.writer
      .enqueue(async (tx) => {
        await tx.client.query({ ...this.ctx.sql.refreshWatchers, values: [tx.now, this.token] })
        await tx.client.query({ ...this.ctx.sql.pruneWatchers, values: [tx.now - WATCHER_STALE_MS] })
        return tx.now
      })
      .then(
        (at) => {
          this.lastBeat = Math.max(this.lastBeat, at)
        },
        () => {
          if (Date.now() - this.lastBeat > WATCHER_STALE_MS / 2) this.failAll(stalled())
        },
      )
  }

  private stop(): void {
    clearInterval(this.poller)
    clearInterval(this.heartbeat)
    this.poller = undefined
    this.heartbeat = undefined
    const listener = this.listener
    this.listener = undefined
    listener?.end().catch(() => {})
  }

  /** Stops; returns the job that drops this process's registrations (run it before the writer closes). */
  close(): (tx: import('./tx.js').Tx) => Promise<unknown> {
    this.closed = true
    this.stop()
    this.subscribers.clear()
    return (tx) => tx.client.query({ ...this.ctx.sql.unregisterAll, values: [this.token] })
  }
}
