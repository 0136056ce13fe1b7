import type { Usage } from '@cubby/core/backend'
import type { Statements } from './statements.js'

/** Watchers refresh their registration this often; a registration older than WATCHER_STALE_MS is ignored. */
export const WATCHER_HEARTBEAT_MS = 5_000
export const WATCHER_STALE_MS = 30_000

/**
 * What one write transaction accumulates: the version counter, usage deltas per scope row (written once at the
 * end, however many requests touched the scope), and which scopes are watched (so changes are logged only then).
 */
export class Tx {
  private version: number
  private readonly deltas = new Map<number, Usage>()
  private readonly watched = new Map<number, boolean>()
  /** Whether this transaction logged a change (watchers in this process are then poked). */
  logged = false

  /** Wall-clock time of the transaction, for the change log and watcher liveness (not for expiry). */
  readonly now = Date.now()

  constructor(private readonly statements: Statements) {
    this.version = statements.version.get()!.value
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

  /** Writes the accumulated usage deltas and the version counter. */
  finish(): void {
    for (const [id, delta] of this.deltas) {
      if (delta.keys !== 0 || delta.bytes !== 0) this.statements.addUsage.run(delta.keys, delta.bytes, id)
    }
    this.statements.setVersion.run(this.version)
  }
}
