import type { Usage } from '@cubby/core/backend'
import { WATCHER_STALE_MS } from './feed.js'
import type { Statements } from './statements.js'
import type { Delta, UsageUpdates } from './usage-updates.js'

/** Versions a connection reserves from the shared counter at a time. */
const VERSION_BLOCK = 1024

/**
 * Hands out versions no key has had: each connection reserves a block from the counter on the root row (inside a
 * write transaction, so blocks never overlap across processes) and uses it up locally. A rollback may undo the
 * reservation, so the block is dropped then.
 */
export class Versions {
  private next = 0
  private end = 0

  constructor(
    private readonly statements: Statements,
    private readonly rootId: number,
  ) {}

  /** A fresh version; call inside a write transaction. */
  take(): number {
    if (this.next === this.end) {
      const top = this.statements.reserveVersions.get(VERSION_BLOCK, this.rootId)!
      this.next = top - VERSION_BLOCK + 1
      this.end = top + 1
    }
    return this.next++
  }

  /** Forgets the block (after any rollback, which may have undone its reservation). */
  drop(): void {
    this.next = 0
    this.end = 0
  }
}

/**
 * What one write transaction accumulates: usage deltas per scope row (written once at the end, however many
 * requests touched the scope), and which scopes are watched (so changes are logged only then).
 */
export class Tx {
  /** Wall-clock time of the transaction, for the change log and watcher liveness (not for expiry). */
  readonly now = Date.now()
  private deltas = new Map<number, Delta>()
  private watched = new Map<number, boolean>()
  /** Scope rows whose `holds` / `ttl` flag this transaction saw set since the last flush (ancestors included). */
  private holding = new Set<number>()
  private expiring = new Set<number>()
  /** Whether this transaction logged a change (watchers in this process are then poked). */
  logged = false

  constructor(
    private readonly statements: Statements,
    private readonly updates: UsageUpdates,
    private readonly versions: Versions,
  ) {}

  /** A version number no key has had. */
  nextVersion(): number {
    return this.versions.take()
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

  /** Physical subtree counters of a scope row as of now in this transaction (expired rows included). */
  usageOf(id: number): Usage & { expiring: number } {
    const row = this.statements.counters.get(id) ?? { keys: 0, bytes: 0, expiring: 0 }
    const delta = this.deltas.get(id)
    if (!delta) return row
    return { keys: row.keys + delta.keys, bytes: row.bytes + delta.bytes, expiring: row.expiring + delta.expiring }
  }

  /** Records a change for watchers, if some process watches the scope. */
  log(scope: number, key: string, version: number | null): void {
    if (!this.isWatched(scope)) return
    this.statements.logChange.run(scope, key, version, this.now)
    this.logged = true
  }

  /** Whether some process watches the scope (looked up once per scope and transaction). */
  isWatched(scope: number): boolean {
    let watched = this.watched.get(scope)
    if (watched === undefined) {
      watched = this.statements.watched.get(scope, this.watcherCutoff) !== undefined
      this.watched.set(scope, watched)
    }
    return watched
  }

  /** Registrations seen before this are stale. */
  get watcherCutoff(): number {
    return this.now - WATCHER_STALE_MS
  }

  /** Whether this transaction has looked at the scope's flags and watchers already (see `observe`). */
  observed(scope: number): boolean {
    return this.watched.has(scope)
  }

  /**
   * Records what the first look at a scope found: whether it is watched, and its flags. A set flag holds for every
   * ancestor too, and stays right while this transaction only adds to those counters, so their update can skip the
   * flag statement.
   */
  observe(ancestors: readonly number[], holds: number, ttl: number, watched: number): void {
    this.watched.set(ancestors[ancestors.length - 1]!, watched === 1)
    if (holds === 1) for (const id of ancestors) this.holding.add(id)
    if (ttl === 1) for (const id of ancestors) this.expiring.add(id)
  }

  /** Forgets what was read of the watchers (after this transaction registered or dropped one). */
  watchersChanged(): void {
    this.watched = new Map()
  }

  /** Whether adding `delta` to these rows may flip a flag (so the flag statement must run). */
  private mayFlip(ids: readonly number[], delta: Delta): boolean {
    if (delta.keys < 0 || delta.expiring < 0) return true
    if (delta.keys > 0 && ids.some((id) => !this.holding.has(id))) return true
    return delta.expiring > 0 && ids.some((id) => !this.expiring.has(id))
  }

  /**
   * Writes the pending usage deltas now — one statement per distinct delta (a batch into one scope is one statement
   * for all its ancestors) — so the counters and flags in the table are current. Called before reading subtrees
   * through the flags, and at the end of the transaction.
   */
  flushUsage(): void {
    if (this.deltas.size === 0) return
    const deltas = this.deltas
    this.deltas = new Map()
    const apply = (ids: number[], delta: Delta) => this.updates.apply(ids, delta, this.mayFlip(ids, delta))
    if (deltas.size <= 16) {
      // The common case: one scope's ancestors, usually all with the same delta.
      const seen: Array<[Delta, number[]]> = []
      for (const [id, delta] of deltas) {
        if (delta.keys === 0 && delta.bytes === 0 && delta.expiring === 0) continue
        const same = seen.find(
          ([d]) => d.keys === delta.keys && d.bytes === delta.bytes && d.expiring === delta.expiring,
        )
        if (same) same[1].push(id)
        else seen.push([delta, [id]])
      }
      for (const [delta, ids] of seen) apply(ids, delta)
      this.forgetFlags()
      return
    }
    const groups = new Map<string, { delta: Delta; ids: number[] }>()
    for (const [id, delta] of deltas) {
      if (delta.keys === 0 && delta.bytes === 0 && delta.expiring === 0) continue
      const key = `${delta.keys},${delta.bytes},${delta.expiring}`
      const group = groups.get(key)
      if (group) group.ids.push(id)
      else groups.set(key, { delta, ids: [id] })
    }
    for (const { delta, ids } of groups.values()) apply(ids, delta)
    this.forgetFlags()
  }

  /** After a flush the flags may have changed: what was seen of them no longer counts. */
  private forgetFlags(): void {
    if (this.holding.size > 0) this.holding = new Set()
    if (this.expiring.size > 0) this.expiring = new Set()
  }

  /** Forgets deltas not yet written (their rows were rolled back to a savepoint). */
  dropPending(): void {
    this.deltas = new Map()
    this.forgetFlags()
    this.watchersChanged()
  }

  /** Ends the transaction's work: writes the usage deltas. */
  finish(): void {
    this.flushUsage()
  }
}
