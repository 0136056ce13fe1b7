import type {
  Backend,
  BackendCapabilities,
  ListQuery,
  ScopePath,
  StoredEntry,
  Usage,
  WatchSink,
  WatchSubscription,
  WriteRequest,
  WriteResult,
} from '@cubby/core/backend'
import type Database from 'better-sqlite3'
import { type ApplyContext, applyWrite, toVersion } from './apply.js'
import { Checkpointer } from './checkpointer.js'
import { isBusy, lockTimeout, sqliteError } from './errors.js'
import { ChangeFeed } from './feed.js'
import { ListStatements } from './list.js'
import { openDatabase } from './open.js'
import type { ResolvedOptions } from './options.js'
import { ScopeIds } from './scope-ids.js'
import { ScopeOps } from './scope-ops.js'
import { prepare, type Statements } from './statements.js'
import { BackgroundSweep, Sweeper } from './sweep.js'
import { Tx, Versions } from './tx.js'
import { UsageUpdates } from './usage-updates.js'
import { backoff, Writer } from './writer.js'

/**
 * The SQLite backend: one better-sqlite3 connection per backend, WAL, group commit for writes, and a change log
 * for cross-process watch. Reads run at once (WAL readers do not wait for writers); writes go through the `Writer`.
 * Create it with `createBackend` (through `openCubby`), or directly from `resolveOptions` output.
 */
export class SqliteBackend implements Backend {
  readonly name = 'sqlite'
  readonly capabilities: BackendCapabilities
  private readonly db: Database.Database
  private readonly statements: Statements
  private readonly ids: ScopeIds
  private readonly writer: Writer
  private readonly feed: ChangeFeed
  private readonly ops: ScopeOps
  private readonly lists: ListStatements
  private readonly sweep: BackgroundSweep | undefined
  private readonly apply: ApplyContext
  /** Runs WAL checkpoints off the write path (none for `:memory:` or read-only). */
  private readonly checkpointer: Checkpointer | undefined
  /** Reads waiting out a lock (rare in WAL mode), which close() lets settle. */
  private readonly waitingReads = new Set<Promise<unknown>>()
  private closing: Promise<void> | undefined

  constructor(
    private readonly options: ResolvedOptions,
    clock: () => number,
  ) {
    this.capabilities = Object.freeze({
      ttl: true,
      watch: !options.readOnly, // a watch registers itself in the database
      quotas: true,
      persistent: true,
      minQuotaDepth: 0,
      // Lock waits end at busyTimeoutMs, which resolveOptions keeps below timeoutMs; the rest is synchronous work.
      timeouts: true,
    })
    this.db = openDatabase(options)
    try {
      this.statements = prepare(this.db)
    } catch (error) {
      this.db.close()
      throw this.fail(error)
    }
    const statements = this.statements
    this.ids = new ScopeIds(statements)
    const sweeper = new Sweeper(statements, this.ids, options.changeRetentionMs)
    this.apply = { statements, ids: this.ids, sweeper }
    this.ops = new ScopeOps(statements, this.ids)
    this.lists = new ListStatements(this.db)
    const updates = new UsageUpdates(this.db)
    const versions = new Versions(statements, statements.rootId.get()!)
    if (!options.readOnly && options.file !== ':memory:') {
      this.checkpointer = new Checkpointer(options.file, options.durability === 'strict' ? 'FULL' : 'NORMAL')
    }
    const checkpointer = this.checkpointer
    this.writer = new Writer(
      this.db,
      {
        newTx: () => new Tx(statements, updates, versions),
        mapError: (error) => this.fail(error),
        lockTimeout: (cause) => lockTimeout(cause, options.file, options.busyTimeoutMs),
        committed: (logged) => {
          checkpointer?.committed()
          if (logged) this.feed.poll(true)
        },
        rolledBack: () => {
          this.ids.reset()
          versions.drop()
        },
      },
      options.busyTimeoutMs,
    )
    this.feed = new ChangeFeed(
      this.db,
      statements,
      this.ids,
      this.writer,
      { pollMs: options.watchPollMs, retentionMs: options.changeRetentionMs },
      (error) => this.fail(error),
    )
    if (!options.readOnly) this.sweep = new BackgroundSweep(sweeper, this.writer, clock, options.sweepIntervalMs)
  }

  get(
    scope: ScopePath,
    keys: readonly string[],
    options: { values: boolean; now: number },
  ): Promise<(StoredEntry | undefined)[]> {
    // The hottest path: no closure, one statement per key, rows as arrays.
    try {
      return Promise.resolve(this.readKeys(scope, keys, options))
    } catch (error) {
      return this.read(() => this.readKeys(scope, keys, options), error)
    }
  }

  private readKeys(
    scope: ScopePath,
    keys: readonly string[],
    options: { values: boolean; now: number },
  ): (StoredEntry | undefined)[] {
    const row = this.ids.find(scope)
    if (!row) return keys.map(() => undefined)
    const { id } = row
    const { now } = options
    if (options.values) {
      const statement = this.statements.getValue
      if (keys.length === 1) {
        const found = statement.get(id, keys[0]!, now)
        return [found && stored(keys[0]!, found[0], found[1], found[2])]
      }
      return keys.map((key) => {
        const found = statement.get(id, key, now)
        return found && stored(key, found[0], found[1], found[2])
      })
    }
    const statement = this.statements.getMeta
    return keys.map((key) => {
      const found = statement.get(id, key, now)
      return found && stored(key, undefined, found[0], found[1])
    })
  }

  write(request: WriteRequest): Promise<WriteResult> {
    return this.writer.enqueue(this.applyJob, request)
  }

  /** The write job, one function for every request (no closure per call). */
  private readonly applyJob = (tx: Tx, request: WriteRequest): WriteResult => applyWrite(this.apply, tx, request)

  list(scope: ScopePath, query: ListQuery): Promise<StoredEntry[]> {
    return this.read(() => {
      const row = this.ids.find(scope)
      if (!row) return []
      return this.lists
        .run(row.id, query)
        .map(([key, value, version, expiresAt]) => stored(key, value ?? undefined, version, expiresAt))
    })
  }

  clear(scope: ScopePath, now: number): Promise<number> {
    return this.writer.enqueue((tx) => this.ops.clear(tx, scope, now))
  }

  drop(scope: ScopePath, now: number): Promise<void> {
    return this.writer.enqueue((tx) => this.ops.drop(tx, scope, now))
  }

  scopes(scope: ScopePath, options: { after?: string; limit: number; now: number }): Promise<string[]> {
    return this.read(() => this.ops.scopes(scope, options))
  }

  usage(scope: ScopePath, now: number): Promise<Usage> {
    return this.read(() => this.ops.usage(scope, now))
  }

  watch(scope: ScopePath, sink: WatchSink): WatchSubscription {
    return this.feed.subscribe(scope, sink)
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.sweep?.stop()
      const unregister = this.feed.close()
      if (!this.options.readOnly) this.writer.enqueue(unregister).catch(() => {}) // registrations also expire
      await this.writer.close() // commits what is queued, so calls in flight settle
      while (this.waitingReads.size > 0) await Promise.allSettled([...this.waitingReads])
      await this.checkpointer?.close() // its connection first: the last one to close checkpoints the WAL away
      this.db.close()
    })()
    return this.closing
  }

  /**
   * Runs a read at once. A WAL reader almost never meets a lock, but it can (another process recovering the WAL
   * after a crash, or switching a new file to WAL): then it retries on a timer, never blocking the loop, until
   * busyTimeoutMs.
   */
  private read<T>(run: () => T, failed?: unknown): Promise<T> {
    try {
      if (failed === undefined) return Promise.resolve(run())
      throw failed
    } catch (error) {
      if (!isBusy(error) || this.closing) return Promise.reject(this.fail(error))
      const deadline = Date.now() + this.options.busyTimeoutMs
      const waiting = this.retryRead(run, deadline, error)
      this.waitingReads.add(waiting)
      const forget = () => this.waitingReads.delete(waiting)
      waiting.then(forget, forget)
      return waiting
    }
  }

  private async retryRead<T>(run: () => T, deadline: number, busy: unknown): Promise<T> {
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      const delay = Math.min(backoff(attempt), deadline - Date.now())
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, delay)))
      try {
        return run()
      } catch (error) {
        if (!isBusy(error)) throw this.fail(error)
        busy = error
      }
    }
    throw lockTimeout(busy, this.options.file, this.options.busyTimeoutMs)
  }

  private fail(error: unknown): Error {
    return sqliteError(error, this.options.file, this.options.busyTimeoutMs)
  }
}

function stored(key: string, value: Buffer | undefined, version: number, expiresAt: number | null): StoredEntry {
  const entry: StoredEntry = { key, version: toVersion(version) }
  if (value !== undefined) entry.value = value
  if (expiresAt !== null) entry.expiresAt = expiresAt
  return entry
}
