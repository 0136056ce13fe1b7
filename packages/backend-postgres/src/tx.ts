import type { ScopePath, Usage } from '@cubby/core/backend'
import type pg from 'pg'
import { utf8Array } from './binary.js'
import { flushSql } from './flush.js'
import { submit } from './gather.js'
import { VERSION_BLOCK } from './schema.js'
import type { ScopeIds, ScopeRow } from './scope-ids.js'
import type { Statements } from './sql.js'

/** Watchers refresh their registration this often; a registration older than WATCHER_STALE_MS is ignored. */
export const WATCHER_HEARTBEAT_MS = 5_000
export const WATCHER_STALE_MS = 30_000

/** A stored row as a write sees it: expired rows included (they count toward the counters until reclaimed). */
export interface Physical {
  version: number
  expiresAt: number | null
  size: number
  /** The value, when it was read (incr needs it). */
  value?: Buffer
}

/** A row a transaction will leave; `null` in the stage means deleted. */
export interface Staged {
  value: Uint8Array
  version: number
  expiresAt: number | null
  size: number
}

/** Subtree counters of a scope row. */
export interface Counters extends Usage {
  expiring: number
}

/**
 * Hands out versions no key has had: blocks of VERSION_BLOCK from the `versions` sequence (nextval is never undone,
 * so a block is never handed out twice, even by a transaction that rolls back), used up locally.
 */
export class Versions {
  private blocks: number[] = []
  private next = 0
  private end = 0

  /** How many versions are available without another nextval. */
  get available(): number {
    return this.end - this.next + this.blocks.length * VERSION_BLOCK
  }

  /** Adds blocks (starts returned by nextval). */
  add(starts: readonly number[]): void {
    this.blocks.push(...starts)
  }

  /** A fresh version; `available` must be positive. */
  take(): number {
    if (this.next === this.end) {
      const start = this.blocks.shift()!
      this.next = start
      this.end = start + VERSION_BLOCK
    }
    return this.next++
  }
}

/**
 * One write transaction's working state: the rows it has read (each read once), what it will write (the stage,
 * written by one statement at `flush`), usage deltas per scope row, counters and watch state of the scopes it
 * touched, and the changes to log. Holds the write lock (taken by the writer), so what it read stays current.
 */
export class Tx {
  /** Wall-clock time of the transaction, for the change log and watcher liveness (not for expiry). */
  readonly now = Date.now()
  private rows = new Map<number, Map<string, Physical | null>>()
  private stage = new Map<number, Map<string, Staged | null>>()
  private deltas = new Map<number, Counters>()
  private readonly counters = new Map<number, Counters>()
  private readonly watched = new Map<number, boolean>()
  private log: Array<[number, string, number | null]> = []
  /** Scope rows created by this transaction, cached once it commits. */
  readonly created: Array<[ScopePath, ScopeRow]> = []
  /** Whether this transaction logged a change (watchers are then poked). */
  logged = false

  constructor(
    readonly client: pg.ClientBase,
    readonly sql: Statements,
    private readonly ids: ScopeIds,
    private readonly versions: Versions,
    private readonly channel: string,
  ) {}

  /** Rows of scopes, creating missing ones when `create`. */
  scopes(paths: readonly ScopePath[], create: boolean): Promise<Array<ScopeRow | undefined>> {
    return this.ids.resolve(this.client, paths, create, this.created)
  }

  /** Ancestor ids of a committed scope row (root first, the row last). */
  ancestorsOf(id: number): Promise<readonly number[]> {
    return this.ids.ancestorsOf(this.client, id)
  }

  /** A version number no key has had. */
  nextVersion(): number {
    return this.versions.take()
  }

  /** Registrations seen before this are stale. */
  get watcherCutoff(): number {
    return this.now - WATCHER_STALE_MS
  }

  /**
   * Reads, in one round trip, the rows of `keys` ([scope id, key, value wanted]) not known yet, and the counters and
   * watch state of `scopeIds` not known yet.
   */
  async prefetch(keys: ReadonlyArray<[number, string, boolean]>, scopeIds: Iterable<number>): Promise<void> {
    const q: [number[], string[], boolean[]] = [[], [], []]
    for (const [scope, key, withValue] of keys) {
      const known = this.rows.get(scope)?.get(key)
      if (known === null || (known && (!withValue || known.value))) continue
      q[0].push(scope)
      q[1].push(key)
      q[2].push(withValue)
      this.rowsOf(scope).set(key, null) // absent unless the read finds it
    }
    const ids = [...new Set(scopeIds)].filter((id) => !this.counters.has(id))
    if (q[0].length === 0 && ids.length === 0) return
    const result = await this.client.query<{
      kind: number
      id: number
      key: Buffer | null
      value: Buffer | null
      a: number
      b: number | null
      c: number
      w: boolean
    }>({ ...this.sql.prefetch, values: [q[0], utf8Array(q[1]), q[2], ids, this.watcherCutoff] })
    for (const row of result.rows) {
      if (row.kind === 0) {
        const physical: Physical = { version: row.a, expiresAt: row.b, size: row.c }
        if (row.value !== null) physical.value = row.value
        this.rowsOf(row.id).set(row.key!.toString('utf8'), physical)
      } else {
        this.counters.set(row.id, { keys: row.a, bytes: row.b!, expiring: row.c })
        this.watched.set(row.id, row.w)
      }
    }
    for (const id of ids) if (!this.counters.has(id)) this.counters.set(id, { keys: 0, bytes: 0, expiring: 0 })
  }

  private rowsOf(scope: number): Map<string, Physical | null> {
    let rows = this.rows.get(scope)
    if (!rows) {
      rows = new Map()
      this.rows.set(scope, rows)
    }
    return rows
  }

  /** The physical row of a key as this transaction sees it (staged writes included), reading it if unknown. */
  async physical(scope: number, key: string, withValue: boolean): Promise<Physical | undefined> {
    const staged = this.stage.get(scope)?.get(key)
    if (staged !== undefined) {
      if (staged === null) return undefined
      return {
        version: staged.version,
        expiresAt: staged.expiresAt,
        size: staged.size,
        value: Buffer.from(staged.value),
      }
    }
    const known = this.rows.get(scope)?.get(key)
    if (known === null) return undefined
    if (known && (!withValue || known.value)) return known
    await this.prefetch([[scope, key, withValue]], [])
    return this.rows.get(scope)!.get(key) ?? undefined
  }

  /** Stages the final state of a key (null: deleted). */
  put(scope: number, key: string, row: Staged | null): void {
    let staged = this.stage.get(scope)
    if (!staged) {
      staged = new Map()
      this.stage.set(scope, staged)
    }
    staged.set(key, row)
  }

  /** Counters of a scope row as of now in this transaction (expired rows included). */
  async usageOf(id: number): Promise<Counters> {
    if (!this.counters.has(id)) await this.prefetch([], [id])
    const row = this.counters.get(id)!
    const delta = this.deltas.get(id)
    if (!delta) return row
    return { keys: row.keys + delta.keys, bytes: row.bytes + delta.bytes, expiring: row.expiring + delta.expiring }
  }

  /** Adds a usage change to a scope and all its ancestors. */
  addUsage(ancestors: readonly number[], keys: number, bytes: number, expiring: number): void {
    if (keys === 0 && bytes === 0 && expiring === 0) return
    for (const id of ancestors) {
      const delta = this.deltas.get(id)
      if (delta) {
        delta.keys += keys
        delta.bytes += bytes
        delta.expiring += expiring
      } else this.deltas.set(id, { keys, bytes, expiring })
    }
  }

  /** Whether a live watcher watches the scope (read with the prefetch, or now). */
  async isWatched(scope: number): Promise<boolean> {
    if (!this.watched.has(scope)) await this.prefetch([], [scope])
    return this.watched.get(scope) === true
  }

  /** Records a change for watchers, if some process watches the scope (`isWatched` must have been awaited). */
  record(scope: number, key: string, version: number | null): void {
    if (this.watched.get(scope) !== true) return
    this.log.push([scope, key, version])
    this.logged = true
  }

  /** Forgets what was read of watchers and counters (after a statement of this transaction changed them). */
  forgetReads(): void {
    this.watched.clear()
    this.counters.clear()
    this.rows = new Map()
  }

  /**
   * Writes the stage, the usage deltas and the change log (and NOTIFY when it logged), so the tables are current:
   * before a statement that reads them, and at the end of the transaction. One statement, or several pipelined in one
   * round trip when the stage holds more than UPSERT_BYTES of values.
   */
  async flush(): Promise<void> {
    if (this.stage.size === 0 && this.deltas.size === 0 && this.log.length === 0) return
    const queries = flushSql(this.sql, this.stage, this.deltas, this.log, this.now, this.channel)
    const stage = this.stage
    for (const [id, delta] of this.deltas) {
      const row = this.counters.get(id)
      if (row) {
        row.keys += delta.keys
        row.bytes += delta.bytes
        row.expiring += delta.expiring
      }
    }
    this.stage = new Map()
    this.deltas = new Map()
    this.log = []
    for (const [scope, keys] of stage) {
      const rows = this.rowsOf(scope)
      for (const [key, row] of keys) {
        rows.set(key, row && { version: row.version, expiresAt: row.expiresAt, size: row.size })
      }
    }
    // Pipelined: every statement is sent before the first answer comes back. Promise.all settles on the first
    // failure (the transaction is then aborted, and the later statements fail with it) and handles the others.
    await Promise.all(queries.map((query) => submit(this.client, query)))
  }
}
