import { randomUUID } from 'node:crypto'
import { BackendError, type ScopePath, type WatchSink, type WatchSubscription } from '@cubby/core/backend'
import type Database from 'better-sqlite3'
import type { ScopeIds } from './scope-ids.js'
import type { Statements } from './statements.js'
import { WATCHER_HEARTBEAT_MS, WATCHER_STALE_MS } from './tx.js'
import type { Writer } from './writer.js'

interface Subscriber {
  scope: number
  /** Only changes after this sequence number are delivered: those of writes that started after `ready`. */
  after: number
  sink: WatchSink
}

const PAGE = 1000

/**
 * Cross-process watch. Writers log changes to scopes someone watches (the `watchers` table says who, refreshed by
 * a heartbeat); this feed reads the log in commit order. It looks only when something changed: after a commit of
 * this process, or when PRAGMA data_version says another connection committed — a cheap check every `pollMs`.
 */
export class ChangeFeed {
  private readonly token = randomUUID()
  private readonly subscribers = new Set<Subscriber>()
  private lastSeq = 0
  private dataVersion = -1
  private poller: NodeJS.Timeout | undefined
  private heartbeat: NodeJS.Timeout | undefined

  constructor(
    private readonly db: Database.Database,
    private readonly statements: Statements,
    private readonly ids: ScopeIds,
    private readonly writer: Writer,
    private readonly pollMs: number,
    private readonly fail: (error: unknown) => Error,
  ) {}

  subscribe(path: ScopePath, sink: WatchSink): WatchSubscription {
    let subscriber: Subscriber | undefined
    let closed = false
    const ready = this.writer
      .enqueue((tx) => {
        const { id } = this.ids.ensure(path)
        this.statements.registerWatcher.run(this.token, id, tx.now)
        return id
      })
      .then((id) => {
        if (closed) return
        // Registered: every write transaction from now on logs this scope's changes. Start after the current end.
        const seq = this.statements.lastChange.get()?.seq ?? 0
        if (this.subscribers.size === 0) this.lastSeq = seq
        subscriber = { scope: id, after: seq, sink }
        this.subscribers.add(subscriber)
        this.start()
      })
    return {
      ready,
      close: () => {
        closed = true
        if (subscriber) this.subscribers.delete(subscriber)
        if (this.subscribers.size === 0) this.stop()
      },
    }
  }

  /** Reads and delivers new changes. Called after local commits, and by the poller when another process wrote. */
  poll(force: boolean): void {
    if (this.subscribers.size === 0) return
    try {
      const version = this.db.pragma('data_version', { simple: true }) as number
      if (!force && version === this.dataVersion) return
      this.dataVersion = version
      const first = this.statements.firstChange.get()?.seq
      if (first != null && first > this.lastSeq + 1 && this.lastSeq > 0) {
        throw new BackendError(
          'the change log was pruned past what this watch had read (it fell behind by more than changeRetentionMs)',
        )
      }
      for (;;) {
        const rows = this.statements.changesSince.all(this.lastSeq, PAGE)
        for (const row of rows) {
          this.lastSeq = row.seq
          for (const subscriber of this.subscribers) {
            if (subscriber.scope !== row.scope || row.seq <= subscriber.after) continue
            subscriber.sink.event(
              row.version === null
                ? { type: 'delete', key: row.key }
                : { type: 'set', key: row.key, version: row.version.toString(36) },
            )
          }
        }
        if (rows.length < PAGE) break
      }
    } catch (error) {
      this.failAll(error)
    }
  }

  private failAll(error: unknown): void {
    const failure = this.fail(error)
    for (const subscriber of [...this.subscribers]) subscriber.sink.error(failure)
    this.subscribers.clear()
    this.stop()
  }

  private start(): void {
    if (this.poller) return
    this.poller = setInterval(() => this.poll(false), this.pollMs)
    this.poller.unref()
    let lastBeat = Date.now()
    this.heartbeat = setInterval(() => {
      this.writer
        .enqueue((tx) => {
          this.statements.refreshWatchers.run(tx.now, this.token)
          this.statements.pruneWatchers.run(tx.now - WATCHER_STALE_MS)
        })
        .then(
          () => {
            lastBeat = Date.now()
          },
          (error: unknown) => {
            // A missed beat is retried on the next one; once writers may consider us gone, events could be lost.
            if (Date.now() - lastBeat > WATCHER_STALE_MS / 2) this.failAll(error)
          },
        )
    }, WATCHER_HEARTBEAT_MS)
    this.heartbeat.unref()
  }

  private stop(): void {
    clearInterval(this.poller)
    clearInterval(this.heartbeat)
    this.poller = undefined
    this.heartbeat = undefined
  }

  /** Stops polling and drops this process's registrations (call while the database is still open). */
  close(): void {
    this.stop()
    this.subscribers.clear()
    this.statements.unregisterAll.run(this.token)
  }
}
