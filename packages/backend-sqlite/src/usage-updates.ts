import type Database from 'better-sqlite3'
import type { Stmt } from './statements.js'

/** A change to a scope row's subtree counters. */
export interface Delta {
  keys: number
  bytes: number
  expiring: number
}

/** Ids per statement: well under SQLite's variable limit, whatever a batch touches. */
export const MAX_IDS = 512

/**
 * Up to this many rows get one single-row `UPDATE … WHERE id = ?` each instead of one `IN (…)` statement: a
 * single-row update runs in one pass, where a multi-row one first collects the rows and opens a statement journal
 * (about 1 µs more than three single-row updates, per commit). A scope's ancestors are usually 3 or 4 rows.
 */
export const SINGLE_ROW_UPDATES = 4

/**
 * Applies counter deltas to scope rows: a few rows one `UPDATE … WHERE id = ?` each, more with
 * `UPDATE scopes … WHERE id IN (…)`, one statement per chunk of rows sharing a delta. Id lists are padded
 * (repeating the last id) to a power of two, so at most ten statements per shape are ever prepared. When the key or expiry count changes, a second statement sets the `holds`/`ttl` flags on the rows
 * whose subtree went between empty and not — usually none, so the partial indexes on the flags are maintained only
 * on those transitions, never by ordinary writes (a WAL frame saved per commit).
 */
export class UsageUpdates {
  private readonly add = new Map<number, Stmt<number[], unknown>>()
  private readonly flags = new Map<number, Stmt<number[], unknown>>()
  private readonly addOne: Stmt<[number, number, number, number], unknown>

  constructor(private readonly db: Database.Database) {
    this.addOne = db.prepare(ADD_ONE) as unknown as Stmt<[number, number, number, number], unknown>
  }

  /** Adds `delta` to every row in `ids` (distinct ids); `mayFlip` = a flag may change (see `Tx`). */
  apply(ids: readonly number[], delta: Delta, mayFlip: boolean): void {
    const transitions = mayFlip && (delta.keys !== 0 || delta.expiring !== 0)
    const few = ids.length <= SINGLE_ROW_UPDATES
    if (few) for (const id of ids) this.addOne.run(delta.keys, delta.bytes, delta.expiring, id)
    if (few && !transitions) return
    for (let start = 0; start < ids.length; start += MAX_IDS) {
      const chunk = ids.slice(start, start + MAX_IDS)
      let size = 1
      while (size < chunk.length) size *= 2
      const last = chunk[chunk.length - 1]!
      while (chunk.length < size) chunk.push(last)
      if (!few) this.statement(this.add, size, ADD).run(delta.keys, delta.bytes, delta.expiring, ...chunk)
      if (transitions) this.statement(this.flags, size, FLAGS).run(...chunk)
    }
  }

  private statement(cache: Map<number, Stmt<number[], unknown>>, size: number, sql: (ids: string) => string) {
    let statement = cache.get(size)
    if (!statement) {
      const marks = Array.from({ length: size }, () => '?').join(', ')
      statement = this.db.prepare(sql(marks)) as unknown as Stmt<number[], unknown>
      cache.set(size, statement)
    }
    return statement
  }

  /** Every statement shape, for the query-plan test. */
  sources(): string[] {
    return [this.addOne.source, this.statement(this.add, 4, ADD).source, this.statement(this.flags, 4, FLAGS).source]
  }
}

const ADD_ONE = 'UPDATE scopes SET keys = keys + ?, bytes = bytes + ?, expiring = expiring + ? WHERE id = ?'
const ADD = (ids: string) =>
  `UPDATE scopes SET keys = keys + ?, bytes = bytes + ?, expiring = expiring + ? WHERE id IN (${ids})`
const FLAGS = (ids: string) =>
  `UPDATE scopes SET holds = (keys > 0), ttl = (expiring > 0) WHERE id IN (${ids}) AND (holds <> (keys > 0) OR ttl <> (expiring > 0))`
