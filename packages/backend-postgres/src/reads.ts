import type { ScopePath, StoredEntry } from '@cubby/core/backend'
import type pg from 'pg'
import { toVersion } from './apply.js'
import { utf8Array } from './binary.js'
import { HeldConnection } from './held.js'
import { pathBytes } from './scope-ids.js'
import type { Statement, Statements } from './sql.js'

/** Keys per statement when gets of one tick are read together: several statements then share the pool. */
const CHUNK = 1000

/** A row as the get statements return it; `scope` comes with the statements that find the scope by its path. */
interface Row {
  key?: Buffer
  value: Buffer | null
  version: number
  expires_at: number | null
  scope?: number
}

/** A row of the single-key statements: the value as base64 text (`ONE_VALUE` in sql.ts). */
interface OneRow extends Omit<Row, 'value'> {
  value: string | null
}

/** One `get` of one key waiting for its tick's statement. */
interface Waiter {
  key: string
  now: number
  resolve(entry: StoredEntry | undefined): void
  reject(error: unknown): void
}

/** The gets of one tick for one scope (and one `values` flag). */
interface Batch {
  scope: ScopePath
  values: boolean
  waiters: Waiter[]
}

/** What `Reads` needs from the backend. */
export interface ReadHooks {
  /** The row id of a scope when a read found it or a write committed it (ids are never reused). */
  knownId(scope: ScopePath): number | undefined
  /** Remembers the row id a read found. */
  learnId(scope: ScopePath, id: number): void
  /** Maps a driver error to the error callers get. */
  fail(error: unknown): Error
}

/**
 * Reads keys with one prepared statement per round trip. A lone get is one indexed probe of `entries` (by the scope's
 * row id once known, else joined on the scope's path). Single-key gets issued in the same tick (a `Promise.all`)
 * coalesce per scope into one `= ANY` statement per CHUNK keys. Expiry is checked against each call's own `now`:
 * the statement filters at the earliest `now` of its calls (a superset), and each call drops rows expired at its own.
 */
export class Reads {
  private pending = new Map<ScopePath, Batch[]>()
  private scheduled = false
  private readonly held: HeldConnection

  constructor(
    private readonly pool: pg.Pool,
    private readonly sql: Statements,
    private readonly hooks: ReadHooks,
  ) {
    this.held = new HeldConnection(pool)
  }

  /** One key, read with the other gets of this tick. */
  one(scope: ScopePath, key: string, values: boolean, now: number): Promise<StoredEntry | undefined> {
    return new Promise((resolve, reject) => {
      let batches = this.pending.get(scope)
      if (!batches) {
        batches = []
        this.pending.set(scope, batches)
      }
      let batch = batches.find((b) => b.values === values)
      if (!batch) {
        batch = { scope, values, waiters: [] }
        batches.push(batch)
      }
      batch.waiters.push({ key, now, resolve, reject })
      if (!this.scheduled) {
        this.scheduled = true
        queueMicrotask(() => this.flush())
      }
    })
  }

  /** Several keys in one statement (a `getMany`), in the order asked; a key asked twice gets its own copy. */
  async many(
    scope: ScopePath,
    keys: readonly string[],
    values: boolean,
    now: number,
  ): Promise<(StoredEntry | undefined)[]> {
    const found = await this.probe(scope, [...new Set(keys)], values, now)
    const taken = new Set<string>()
    return keys.map((key) => {
      const entry = found.get(key)
      if (!entry) return undefined
      if (taken.has(key)) return copy(entry)
      taken.add(key)
      return entry
    })
  }

  private flush(): void {
    this.scheduled = false
    const pending = this.pending
    this.pending = new Map()
    for (const batches of pending.values()) for (const batch of batches) void this.run(batch)
  }

  private async run(batch: Batch): Promise<void> {
    const { scope, values, waiters } = batch
    try {
      if (waiters.length === 1) {
        const waiter = waiters[0]!
        waiter.resolve(await this.single(scope, waiter.key, values, waiter.now))
        return
      }
      const byKey = new Map<string, Waiter[]>()
      let earliest = Number.POSITIVE_INFINITY
      for (const waiter of waiters) {
        const same = byKey.get(waiter.key)
        if (same) same.push(waiter)
        else byKey.set(waiter.key, [waiter])
        if (waiter.now < earliest) earliest = waiter.now
      }
      const keys = [...byKey.keys()]
      const chunks: Promise<void>[] = []
      for (let at = 0; at < keys.length; at += CHUNK) {
        const part = keys.slice(at, at + CHUNK)
        chunks.push(
          this.probe(scope, part, values, earliest).then(
            (found) => {
              for (const key of part) {
                const entry = found.get(key)
                let first = true
                for (const waiter of byKey.get(key)!) {
                  if (!entry || (entry.expiresAt !== undefined && entry.expiresAt <= waiter.now)) {
                    waiter.resolve(undefined)
                  } else {
                    waiter.resolve(first ? entry : copy(entry))
                    first = false
                  }
                }
              }
            },
            (error) => {
              for (const key of part) for (const waiter of byKey.get(key)!) waiter.reject(error)
            },
          ),
        )
      }
      await Promise.all(chunks)
    } catch (error) {
      // Only a single get's statement gets here (chunks settle their own waiters); a settled promise ignores this.
      for (const waiter of waiters) waiter.reject(error)
    }
  }

  /** One key: one statement, by the scope's row id when known. */
  private async single(scope: ScopePath, key: string, values: boolean, now: number): Promise<StoredEntry | undefined> {
    const id = this.hooks.knownId(scope)
    const byId = id !== undefined
    const rows = await this.query<OneRow>(
      byId ? this.sql.getById : this.sql.getOne,
      [byId ? id : pathBytes(scope), Buffer.from(key, 'utf8'), now, values],
      true,
    )
    const row = rows[0]
    if (!row) return undefined
    if (row.scope !== undefined) this.hooks.learnId(scope, row.scope)
    return stored(key, { ...row, value: row.value === null ? null : Buffer.from(row.value, 'base64') })
  }

  /** Distinct keys: one statement, by the scope's row id when known; live at `now`. */
  private async probe(
    scope: ScopePath,
    keys: readonly string[],
    values: boolean,
    now: number,
  ): Promise<Map<string, StoredEntry>> {
    const id = this.hooks.knownId(scope)
    const byId = id !== undefined
    const rows = await this.query(byId ? this.sql.getManyById : this.sql.getMany, [
      byId ? id : pathBytes(scope),
      utf8Array(keys),
      now,
      values,
    ])
    const found = new Map<string, StoredEntry>()
    for (const row of rows) {
      if (row.scope !== undefined) this.hooks.learnId(scope, row.scope)
      const key = row.key!.toString('utf8')
      found.set(key, stored(key, row))
    }
    return found
  }

  /** Runs a get statement on the held connection (`lone`) or any pooled one. */
  private async query<R extends object = Row>(statement: Statement, values: unknown[], lone = false): Promise<R[]> {
    const config = { name: statement.name, text: statement.text, values }
    try {
      return (await (lone ? this.held.query<R>(config) : this.pool.query<R>(config))).rows
    } catch (error) {
      throw this.hooks.fail(error)
    }
  }
}

/** A stored entry from a row. */
export function stored(key: string, row: Pick<Row, 'value' | 'version' | 'expires_at'>): StoredEntry {
  const entry: StoredEntry = { key, version: toVersion(row.version) }
  if (row.value !== null) entry.value = row.value
  if (row.expires_at !== null) entry.expiresAt = row.expires_at
  return entry
}

/** An entry with a value buffer of its own (two callers asked for one key). */
function copy(entry: StoredEntry): StoredEntry {
  return entry.value ? { ...entry, value: Buffer.from(entry.value) } : { ...entry }
}
