import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import {
  type Backend,
  type BackendCapabilities,
  encodeScopePath,
  type ListQuery,
  type ScopePath,
  type StoredEntry,
  type Usage,
  type WatchSink,
  type WatchSubscription,
  type WriteRequest,
  type WriteResult,
} from '@cubby/core/backend'
import Database from 'better-sqlite3'
import { applyWrite, toVersion } from './apply.js'
import { sqliteError } from './errors.js'
import { ChangeFeed } from './feed.js'
import { ListStatements } from './list.js'
import type { ResolvedOptions } from './options.js'
import { migrate } from './schema.js'
import { ScopeIds } from './scope-ids.js'
import { type EntryRow, prepare, type Statements } from './statements.js'
import { Sweeper } from './sweep.js'
import type { Tx } from './tx.js'
import { Writer } from './writer.js'

/** Entries reclaimed per background sweep transaction, so writers never wait long behind it. */
const SWEEP_BATCH = 2000

/**
 * The SQLite backend: one better-sqlite3 connection per backend, WAL, group commit for writes, and a change log
 * for cross-process watch. Reads run directly; writes go through the `Writer`.
 */
export class SqliteBackend implements Backend {
  readonly name = 'sqlite'
  readonly capabilities: BackendCapabilities = Object.freeze({
    ttl: true,
    watch: true,
    quotas: true,
    persistent: true,
    minQuotaDepth: 0,
    timeouts: true, // calls are synchronous; lock waits are bounded by busy_timeout
  })
  private readonly db: Database.Database
  private readonly statements: Statements
  private readonly ids: ScopeIds
  private readonly writer: Writer
  private readonly feed: ChangeFeed
  private readonly sweeper: Sweeper
  private readonly lists: ListStatements
  private readonly sweepTimer: NodeJS.Timeout
  private closing: Promise<void> | undefined

  constructor(
    private readonly options: ResolvedOptions,
    private readonly clock: () => number,
  ) {
    const { file } = options
    try {
      if (file !== ':memory:' && !options.readOnly) mkdirSync(dirname(file), { recursive: true })
      this.db = new Database(file, { readonly: options.readOnly, timeout: options.busyTimeoutMs })
      if (!options.readOnly) this.db.pragma('journal_mode = WAL')
      this.db.pragma(`synchronous = ${options.durability === 'strict' ? 'FULL' : 'NORMAL'}`)
      this.db.pragma(`busy_timeout = ${options.busyTimeoutMs}`)
      if (!options.readOnly) migrate(this.db)
      if (options.maxSizeBytes > 0) {
        const pageSize = this.db.pragma('page_size', { simple: true }) as number
        this.db.pragma(`max_page_count = ${Math.max(1, Math.ceil(options.maxSizeBytes / pageSize))}`)
      }
      this.statements = prepare(this.db)
    } catch (error) {
      throw this.fail(error)
    }
    this.ids = new ScopeIds(this.statements)
    this.sweeper = new Sweeper(this.statements, this.ids)
    this.lists = new ListStatements(this.db)
    this.writer = new Writer(
      this.db,
      this.statements,
      (error) => this.fail(error),
      (logged) => {
        if (logged) this.feed.poll(true)
      },
      () => this.ids.reset(),
    )
    this.feed = new ChangeFeed(this.db, this.statements, this.ids, this.writer, options.watchPollMs, (error) =>
      this.fail(error),
    )
    this.sweepTimer = setInterval(() => this.backgroundSweep(), options.sweepIntervalMs)
    this.sweepTimer.unref()
  }

  async get(scope: ScopePath, keys: readonly string[], options: { values: boolean; now: number }) {
    const row = this.ids.find(scope)
    if (!row) return keys.map(() => undefined)
    const statement = options.values ? this.statements.getValue : this.statements.getMeta
    return keys.map((key) => {
      const found = statement.get(row.id, key, options.now) as EntryRow | undefined
      return found && toStored(key, found)
    })
  }

  write(request: WriteRequest): Promise<WriteResult> {
    return this.writer.enqueue((tx) => applyWrite(this.statements, this.ids, this.sweeper, tx, request))
  }

  async list(scope: ScopePath, query: ListQuery): Promise<StoredEntry[]> {
    const row = this.ids.find(scope)
    if (!row) return []
    return this.lists.run(row.id, query).map((found) => toStored(found.key, found))
  }

  clear(scope: ScopePath, now: number): Promise<number> {
    return this.writer.enqueue((tx) => {
      const row = this.ids.find(scope)
      return row ? this.removeOwn(row.id, row.ancestors, now, tx) : 0
    })
  }

  drop(scope: ScopePath, now: number): Promise<void> {
    return this.writer.enqueue((tx) => {
      const row = this.ids.find(scope)
      if (!row) return
      const path = encodeScopePath(scope)
      // Descendants are the encoded paths in (path + '/', path + '0'); '0' follows '/' in byte order.
      const below =
        scope.length === 0
          ? this.statements.allBelowRoot.all()
          : this.statements.descendants.all(`${path}/`, `${path}0`)
      this.removeOwn(row.id, row.ancestors, now, tx)
      for (const { id } of below) this.removeOwn(id, this.ids.ancestorsOf(id), now, tx)
    })
  }

  async scopes(scope: ScopePath, options: { after?: string; limit: number; now: number }): Promise<string[]> {
    await this.reclaimDue(options.now)
    const row = this.ids.find(scope)
    if (!row) return []
    return this.statements.children.all(row.id, options.after ?? '', options.limit).map((child) => child.name)
  }

  async usage(scope: ScopePath, now: number): Promise<Usage> {
    await this.reclaimDue(now)
    const row = this.ids.find(scope)
    return (row && this.statements.scopeUsage.get(row.id)) || { keys: 0, bytes: 0 }
  }

  watch(scope: ScopePath, sink: WatchSink): WatchSubscription {
    return this.feed.subscribe(scope, sink)
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.sweepTimer)
      this.writer.close() // commits what is queued, so calls in flight settle
      try {
        if (!this.options.readOnly) this.feed.close()
      } catch {
        // the registrations expire on their own; closing must still release the file
      }
      this.db.close()
    })()
    return this.closing
  }

  /** Removes a scope's own rows; returns how many were live. Logs a delete per live key for watchers. */
  private removeOwn(id: number, ancestors: readonly number[], now: number, tx: Tx): number {
    const live = this.statements.liveKeys.all(id, now)
    const totals = this.statements.scopeTotals.get(id)!
    if (totals.keys === 0) return 0
    this.statements.removeScope.run(id)
    tx.addUsage(ancestors, -totals.keys, -(totals.bytes ?? 0))
    for (const { key } of live) tx.log(id, key, null)
    return live.length
  }

  /** Reclaims everything expired by `now` before an answer that must be exact. */
  private async reclaimDue(now: number): Promise<void> {
    if (this.options.readOnly || !this.sweeper.anyDue(now)) return
    await this.writer.enqueue((tx) => this.sweeper.reclaim(tx, now))
  }

  private backgroundSweep(): void {
    if (this.options.readOnly) return
    const now = this.clock()
    const wall = Date.now()
    this.writer
      .enqueue((tx) => {
        this.sweeper.reclaim(tx, now, SWEEP_BATCH)
        this.statements.pruneChanges.run(wall - this.options.changeRetentionMs)
      })
      .catch(() => {}) // the next sweep retries; expired entries are invisible to reads either way
  }

  private fail(error: unknown): Error {
    return sqliteError(error, this.options.file, this.options.busyTimeoutMs)
  }
}

function toStored(key: string, row: { value?: Buffer; version: number; expires_at: number | null }): StoredEntry {
  const entry: StoredEntry = { key, version: toVersion(row.version) }
  if (row.value !== undefined) entry.value = row.value
  if (row.expires_at !== null) entry.expiresAt = row.expires_at
  return entry
}
