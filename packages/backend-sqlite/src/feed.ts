import { randomUUID } from 'node:crypto'
import {
  BackendError,
  encodeScopePath,
  type ScopePath,
  type WatchSink,
  type WatchSubscription,
} from '@cubby/core/backend'
import type Database from 'better-sqlite3'
import { isBusy } from './errors.js'
import type { ScopeIds } from './scope-ids.js'
import type { Statements, Stmt } from './statements.js'
import type { Writer } from './writer.js'

interface Subscriber {
  scope: number
  /** Only changes after this sequence number are delivered: those of writes that committed after registering. */
  after: number
  sink: WatchSink
}

/** Watchers refresh their registration this often. */
export const WATCHER_HEARTBEAT_MS = 5_000
/**
 * A registration older than this is ignored: writers stop logging changes for its scopes (`Tx.watcherCutoff`), the
 * sweep stops keeping changes for it, and a watcher that could not refresh for this long fails its watches.
 */
export const WATCHER_STALE_MS = 30_000

const PAGE = 1000

function stalled(): BackendError {
  return new BackendError(
    `this process did not refresh its watch registrations for over ${WATCHER_STALE_MS} ms (its event loop was blocked, or the database stayed locked), so other processes may have skipped logging changes for it; watch again`,
  )
}

/**
 * Cross-process watch. Writers log changes to scopes someone watches (the `watchers` table says who, refreshed by
 * a heartbeat); this feed reads the log in commit order. It looks only when something changed: after a commit of
 * this process, or when PRAGMA data_version says another connection committed — a cheap check every `pollMs`.
 * A scope stays registered while this process has a watch open on it, and no longer.
 */
export class ChangeFeed {
  private readonly token = randomUUID()
  private readonly subscribers = new Set<Subscriber>()
  /** Open watches per scope (by encoded path), including those not ready yet. */
  private readonly open = new Map<string, number>()
  /** Scopes whose unregistration failed, retried with the next heartbeat. */
  private readonly unregisterLater = new Map<string, ScopePath>()
  private readonly dataVersion: Stmt<[], number>
  private lastSeq = 0
  private seenVersion = -1
  /** When this process last refreshed its registrations (tx time of the last successful heartbeat). */
  private lastBeat = 0
  private poller: NodeJS.Timeout | undefined
  private heartbeat: NodeJS.Timeout | undefined

  constructor(
    db: Database.Database,
    private readonly statements: Statements,
    private readonly ids: ScopeIds,
    private readonly writer: Writer,
    private readonly options: { pollMs: number; retentionMs: number },
    private readonly fail: (error: unknown) => Error,
  ) {
    this.dataVersion = db.prepare('PRAGMA data_version').pluck(true) as unknown as Stmt<[], number>
  }

  subscribe(path: ScopePath, sink: WatchSink): WatchSubscription {
    const text = encodeScopePath(path)
    this.open.set(text, (this.open.get(text) ?? 0) + 1)
    this.unregisterLater.delete(text)
    let subscriber: Subscriber | undefined
    let closed = false
    const ready = this.writer
      .enqueue((tx) => {
        const { id } = this.ids.ensure(path)
        this.statements.registerWatcher.run(this.token, id, tx.now, this.options.retentionMs)
        tx.watchersChanged()
        // Every later transaction (of any process) logs this scope's changes: start after the current end.
        return { id, seq: this.statements.lastSeq.get() ?? 0, at: tx.now }
      })
      .then(({ id, seq, at }) => {
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
        const left = this.open.get(text)! - 1
        if (left > 0) this.open.set(text, left)
        else {
          this.open.delete(text)
          this.unregister(path, text)
        }
        if (this.subscribers.size === 0) this.stop()
      },
    }
  }

  /** Drops this process's registration of a scope nobody here watches any more. */
  private unregister(path: ScopePath, text: string): void {
    this.writer
      .enqueue((tx) => {
        if (this.open.has(text)) return // watched again meanwhile
        const row = this.ids.find(path)
        if (row) this.statements.unregister.run(row.id, this.token)
        tx.watchersChanged()
      })
      .catch(() => {
        if (!this.open.has(text)) this.unregisterLater.set(text, path)
      })
  }

  /** Reads and delivers new changes. Called after local commits, and by the poller when another process wrote. */
  poll(force: boolean): void {
    if (this.subscribers.size === 0) return
    try {
      if (Date.now() - this.lastBeat > WATCHER_STALE_MS) throw stalled()
      const version = this.dataVersion.get()!
      if (!force && version === this.seenVersion) return
      this.seenVersion = version
      const first = this.statements.firstSeq.get()
      const pruned = first != null ? first > this.lastSeq + 1 : (this.statements.lastSeq.get() ?? 0) > this.lastSeq
      if (pruned) {
        throw new BackendError(
          'the change log was pruned past what this watch had read (it fell behind by more than changeRetentionMs); watch again, and raise changeRetentionMs if the consumer is slow',
        )
      }
      for (;;) {
        const rows = this.statements.changesSince.all(this.lastSeq, PAGE)
        for (const [seq, scope, key, version] of rows) {
          this.lastSeq = seq
          for (const subscriber of this.subscribers) {
            if (subscriber.scope !== scope || seq <= subscriber.after) continue
            subscriber.sink.event(
              version === null ? { type: 'delete', key } : { type: 'set', key, version: version.toString(36) },
            )
          }
        }
        if (rows.length < PAGE) break
      }
    } catch (error) {
      if (isBusy(error)) {
        this.seenVersion = -1 // a reader met a lock (rare in WAL mode): the next poll reads again
        return
      }
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
    this.poller = setInterval(() => this.poll(false), this.options.pollMs)
    this.poller.unref()
    this.heartbeat = setInterval(() => this.beat(), WATCHER_HEARTBEAT_MS)
    this.heartbeat.unref()
  }

  /** Refreshes this process's registrations (and retries failed unregistrations). */
  private beat(): void {
    this.writer
      .enqueue((tx) => {
        for (const [text, path] of this.unregisterLater) {
          const row = this.open.has(text) ? undefined : this.ids.find(path)
          if (row) this.statements.unregister.run(row.id, this.token)
        }
        this.statements.refreshWatchers.run(tx.now, this.token)
        this.statements.pruneWatchers.run(tx.now - WATCHER_STALE_MS)
        tx.watchersChanged()
        return tx.now
      })
      .then(
        (at) => {
          this.unregisterLater.clear()
          // A gap this long means other processes may have considered us gone and skipped logging for a while.
          const gap = at - this.lastBeat
          this.lastBeat = Math.max(this.lastBeat, at)
          if (gap > WATCHER_STALE_MS) this.failAll(stalled())
        },
        (error: unknown) => {
          // A missed beat is retried on the next one; once writers may consider us gone, events could be lost.
          if (Date.now() - this.lastBeat > WATCHER_STALE_MS / 2) this.failAll(error)
        },
      )
  }

  private stop(): void {
    clearInterval(this.poller)
    clearInterval(this.heartbeat)
    this.poller = undefined
    this.heartbeat = undefined
  }

  /** Stops polling; returns the job that drops this process's registrations (run it before the writer closes). */
  close(): (tx: unknown) => void {
    this.stop()
    this.subscribers.clear()
    return () => {
      this.statements.unregisterAll.run(this.token)
    }
  }
}
