import type { Usage } from '@cubby/core/backend'
import type Database from 'better-sqlite3'
import type { Statements, Stmt } from './statements.js'

/** Watchers refresh their registration this often; a registration older than WATCHER_STALE_MS is ignored. */
export const WATCHER_HEARTBEAT_MS = 5_000
export const WATCHER_STALE_MS = 30_000

/** `UPDATE scopes … WHERE id IN (?, …)` statements by number of ids, shared by all transactions of a connection. */
export class UsageUpdates {
  private readonly byCount = new Map<number, Stmt<number[], unknown>>()
  constructor(private readonly db: Database.Database) {}

  run(ids: number[], keys: number, bytes: number): void {
    let statement = this.byCount.get(ids.length)
    if (!statement) {
      const marks = ids.map(() => '?').join(', ')
      statement = this.db.prepare(
        `UPDATE scopes SET keys = keys + ?, bytes = bytes + ? WHERE id IN (${marks})`,
      ) as unknown as Stmt<number[], unknown>
      this.byCount.set(ids.length, statement)
    }
    statement.run(keys, bytes, ...ids)
  }
}

/**
 * What one write transaction accumulates: the version counter, usage deltas per scope row (written once at the
 * end, however many requests touched the scope), and which scopes are watched (so changes are logged only then).
 */
export class Tx {
  /** Wall-clock time of the transaction, for the change log and watcher liveness (not for expiry). */
  readonly now = Date.now()
  private version: number
  private readonly rootId: number
  private readonly deltas = new Map<number, Usage>()
  private readonly watched = new Map<number, boolean>()
  /** Whether this transaction logged a change (watchers in this process are then poked). */
  logged = false

  constructor(
    private readonly statements: Statements,
    private readonly updates: UsageUpdates,
  ) {
    const root = statements.version.get()!
    this.rootId = root.id
    this.version = root.counter
  }

  /** A version number no key has had: the counter only grows, and it is shared by every process. */
  nextVersion(): number {
    return ++this.version
  }

  /** Adds a usage change to a scope and all its ancestors. */
  addUsage(ancestors: readonly number[], keys: number, bytes: number): void {
    if (keys === 0 && bytes === 0) return
    for (const id of ancestors) {
      const delta = this.deltas.get(id)
      if (delta) {
        delta.keys += keys
        delta.bytes += bytes
      } else this.deltas.set(id, { keys, bytes })
    }
  }

  /** Subtree usage of a scope row as of now in this transaction. */
  usageOf(id: number): Usage {
    const row = this.statements.scopeUsage.get(id) ?? { keys: 0, bytes: 0 }
    const delta = this.deltas.get(id)
    return delta
      ? { keys: row.keys + delta.keys, bytes: row.bytes + delta.bytes }
      : { keys: row.keys, bytes: row.bytes }
  }

  /** Records a change for watchers, if some process watches the scope. */
  log(scope: number, key: string, version: number | null): void {
    let watched = this.watched.get(scope)
    if (watched === undefined) {
      watched = this.statements.watched.get(scope, this.now - WATCHER_STALE_MS) !== undefined
      this.watched.set(scope, watched)
    }
    if (!watched) return
    this.statements.logChange.run(scope, key, version, this.now)
    this.logged = true
  }

  /**
   * Writes the usage deltas — one statement per distinct delta (a batch into one scope is one statement for all its
   * ancestors) — and the version counter together with the root's totals.
   */
  finish(): void {
    const root = this.deltas.get(this.rootId) ?? { keys: 0, bytes: 0 }
    this.deltas.delete(this.rootId)
    const groups = new Map<string, number[]>()
    for (const [id, delta] of this.deltas) {
      if (delta.keys === 0 && delta.bytes === 0) continue
      const key = `${delta.keys},${delta.bytes}`
      const ids = groups.get(key)
      if (ids) ids.push(id)
      else groups.set(key, [id])
    }
    for (const [key, ids] of groups) {
      const [keys, bytes] = key.split(',').map(Number) as [number, number]
      this.updates.run(ids, keys, bytes)
    }
    this.statements.finishRoot.run(root.keys, root.bytes, this.version, this.rootId)
  }
}
