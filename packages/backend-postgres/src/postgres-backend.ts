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
import pg from 'pg'
import { applyWrite } from './apply.js'
import { pgError } from './errors.js'
import { ChangeFeed } from './feed.js'
import { listPage } from './list.js'
import type { ResolvedOptions } from './options.js'
import { Reads, stored } from './reads.js'
import { lockKey, migrate, WRITE_LOCK_CLASS } from './schema.js'
import { pathBytes, ScopeIds } from './scope-ids.js'
import { childScopes, clearScope, dropScope, usageOf } from './scope-ops.js'
import { type Statements, statements } from './sql.js'
import { BackgroundSweep } from './sweep.js'
import { Tx, Versions } from './tx.js'
import { Writer } from './writer.js'

/** bigint columns come back as numbers (every one Cubby stores is below 2^53). */
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === 20 ? (text: string) => Number(text) : pg.types.getTypeParser(oid, format as 'text')) as never,
}

/** Connection settings: every wait bounded by timeoutMs, on the server and in the client. */
export function clientConfig(options: ResolvedOptions): pg.ClientConfig {
  return {
    connectionString: options.connectionString,
    connectionTimeoutMillis: options.timeoutMs,
    statement_timeout: options.timeoutMs,
    lock_timeout: options.timeoutMs,
    query_timeout: options.timeoutMs,
    idle_in_transaction_session_timeout: Math.max(options.timeoutMs * 2, 10_000),
    application_name: 'cubby',
    keepAlive: true,
    types,
  }
}

/**
 * The PostgreSQL backend: a pool of connections; reads run at once on any of them, writes go through the group
 * commit `Writer`; watch through a change log and LISTEN/NOTIFY. Create it with `PostgresBackend.open`.
 */
export class PostgresBackend implements Backend {
  readonly name = 'postgres'
  readonly capabilities: BackendCapabilities = Object.freeze({
    ttl: true,
    watch: true,
    quotas: true,
    persistent: true,
    minQuotaDepth: 0,
    // Core races every call against timeoutMs; statement_timeout, lock_timeout and the pool's connection timeout
    // also end the work on the server and free the connection.
    timeouts: false,
  })
  readonly writer: Writer
  private readonly feed: ChangeFeed
  private readonly sweep: BackgroundSweep
  private closing: Promise<void> | undefined
  private readonly reads: Reads

  private constructor(
    private readonly pool: pg.Pool,
    private readonly sql: Statements,
    private readonly options: ResolvedOptions,
    clock: () => number,
  ) {
    const ids = new ScopeIds(sql)
    // Row ids of scopes that reads found, by the path array core passes for every call through one view (rows are
    // never deleted, so an id stays valid).
    const readIds = new WeakMap<ScopePath, number>()
    this.reads = new Reads(pool, sql, {
      knownId: (scope) => readIds.get(scope) ?? ids.known(scope),
      learnId: (scope, id) => readIds.set(scope, id),
      fail: (error) => this.fail(error),
    })
    const versions = new Versions()
    const channel = `cubby_${options.schema}`
    const lock = `SELECT pg_advisory_xact_lock(${WRITE_LOCK_CLASS}, ${lockKey(options.schema)})`
    this.writer = new Writer(
      {
        connect: () => pool.connect(),
        newTx: (client) => new Tx(client, sql, ids, versions, channel),
        begin: async (client, blocks) => {
          const next =
            blocks > 0 ? `; SELECT nextval('${sql.schema}.versions') AS v FROM generate_series(1, ${blocks})` : ''
          const results = (await client.query(`BEGIN; ${lock}${next}`)) as unknown as pg.QueryResult<{ v: number }>[]
          return blocks > 0 ? results[2]!.rows.map((row) => row.v) : []
        },
        mapError: (error) => this.fail(error),
        committed: (tx) => {
          ids.commit(tx.created)
          if (tx.logged) this.feed.poll()
        },
      },
      versions,
    )
    this.feed = new ChangeFeed({
      pool,
      sql,
      writer: this.writer,
      clientConfig: clientConfig(options),
      channel,
      pollMs: options.watchPollMs,
      retentionMs: options.changeRetentionMs,
      fail: (error) => this.fail(error),
    })
    this.sweep = new BackgroundSweep(pool, sql, this.writer, clock, options.changeRetentionMs, options.sweepIntervalMs)
  }

  /** Connects, creates or migrates the schema, and returns the backend. */
  static async open(options: ResolvedOptions, clock: () => number): Promise<PostgresBackend> {
    // Pipelined connections: a write transaction sends BEGIN + lock with its prefetch, and its last write with
    // COMMIT, without waiting for each answer (each statement still has its own Sync, so one failing cannot be
    // mistaken for another's result).
    const pool = new pg.Pool({ ...clientConfig(options), max: options.poolSize, pipeline: true })
    pool.on('error', () => {}) // an idle connection that dropped is discarded; the next call connects again
    // A connection that drops while in use fails its query (which the caller sees); the event must not crash.
    pool.on('connect', (client) => client.on('error', () => {}))
    try {
      const client = await pool.connect()
      try {
        await migrate(client, options.schema)
      } finally {
        client.release()
      }
    } catch (error) {
      await pool.end().catch(() => {})
      throw pgError(error, options.where, options.timeoutMs)
    }
    return new PostgresBackend(pool, statements(options.schema), options, clock)
  }

  get(
    scope: ScopePath,
    keys: readonly string[],
    options: { values: boolean; now: number },
  ): Promise<(StoredEntry | undefined)[]> {
    if (keys.length === 1) return this.reads.one(scope, keys[0]!, options.values, options.now).then(inArray)
    return this.reads.many(scope, keys, options.values, options.now)
  }

  write(request: WriteRequest): Promise<WriteResult> {
    return this.writer.write(applyWrite, request) as Promise<WriteResult>
  }

  list(scope: ScopePath, query: ListQuery): Promise<StoredEntry[]> {
    return this.read(async () =>
      (await listPage(this.pool, this.sql, pathBytes(scope), query)).map((row) =>
        stored(row.key.toString('utf8'), row),
      ),
    )
  }

  clear(scope: ScopePath, now: number): Promise<number> {
    return this.writer.enqueue((tx) => clearScope(tx, scope, now))
  }

  drop(scope: ScopePath, now: number): Promise<void> {
    return this.writer.enqueue((tx) => dropScope(tx, scope, now))
  }

  scopes(scope: ScopePath, options: { after?: string; limit: number; now: number }): Promise<string[]> {
    return this.read(() => childScopes(this.pool, this.sql, scope, options))
  }

  usage(scope: ScopePath, now: number): Promise<Usage> {
    return this.read(() => usageOf(this.pool, this.sql, scope, now))
  }

  watch(scope: ScopePath, sink: WatchSink): WatchSubscription {
    const subscription = this.feed.subscribe(scope, sink)
    return { ready: subscription.ready.catch((error) => Promise.reject(this.fail(error))), close: subscription.close }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.sweep.stop()
      const unregister = this.feed.close()
      this.writer.enqueue(unregister).catch(() => {}) // registrations also go stale on their own
      await this.writer.close()
      await this.pool.end().catch(() => {})
    })()
    return this.closing
  }

  private async read<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run()
    } catch (error) {
      throw this.fail(error)
    }
  }

  private fail(error: unknown): Error {
    return pgError(error, this.options.where, this.options.timeoutMs)
  }
}

const inArray = <T>(entry: T): T[] => [entry]
