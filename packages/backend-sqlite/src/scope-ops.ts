import type { ScopePath, Usage } from '@cubby/core/backend'
import type { ScopeIds } from './scope-ids.js'
import type { Statements } from './statements.js'
import type { Tx } from './tx.js'

/**
 * The operations on whole scopes: clear, drop, usage and scopes. Each costs in proportion to the data of the scope
 * asked about — subtrees are walked through the `holds` / `ttl` flag indexes, which skip descendants that hold
 * nothing — and none of them reclaims anything outside it.
 */
export class ScopeOps {
  constructor(
    private readonly statements: Statements,
    private readonly ids: ScopeIds,
  ) {}

  /** Removes a scope's own rows (inside a write transaction); returns how many were live. */
  clear(tx: Tx, scope: ScopePath, now: number): number {
    const row = this.ids.find(scope)
    return row ? this.removeOwn(tx, row.id, row.ancestors, now, true) : 0
  }

  /** Removes a scope's own rows and every descendant's (inside a write transaction). */
  drop(tx: Tx, scope: ScopePath, now: number): void {
    const row = this.ids.find(scope)
    if (!row) return
    tx.flushUsage() // the walk reads the flags in the table: this transaction's earlier writes must be in them
    const ancestry = new Map<number, readonly number[]>([[row.id, row.ancestors]])
    for (const { id, parent } of this.statements.holdingSubtree.all({ id: row.id })) {
      const ancestors = id === row.id ? row.ancestors : [...ancestry.get(parent!)!, id]
      ancestry.set(id, ancestors)
      this.removeOwn(tx, id, ancestors, now, false)
    }
  }

  /**
   * Removes the rows of scope row `id`, giving their space back to its ancestors and logging a delete per live key
   * for watchers. Returns how many were live when `count` is set (0 otherwise: drop needs no count).
   */
  private removeOwn(tx: Tx, id: number, ancestors: readonly number[], now: number, count: boolean): number {
    const totals = this.statements.ownTotals.get(id)!
    if (totals.keys === 0) return 0
    let live = 0
    if (tx.isWatched(id)) {
      const keys = this.statements.liveKeys.all(id, now)
      for (const key of keys) tx.log(id, key, null)
      live = keys.length
    } else if (count) {
      live = totals.keys - (totals.expiring > 0 ? this.statements.expiredCount.get(id, now)! : 0)
    }
    this.statements.removeScope.run(id)
    tx.addUsage(ancestors, -totals.keys, -totals.bytes, -totals.expiring)
    return live
  }

  /** Live keys and bytes of a subtree: one row of counters, minus its expired rows when it has any with an expiry. */
  usage(scope: ScopePath, now: number): Usage {
    const row = this.ids.find(scope)
    if (!row) return { keys: 0, bytes: 0 }
    return this.statements.liveUsage.get({ id: row.id, now }) ?? { keys: 0, bytes: 0 }
  }

  /**
   * Names of direct children whose subtree holds live data, after `after`, at most `limit`. Candidates come from the
   * `holds` index in name order; one holding a row without expiry is live at once, one whose rows all expire is
   * checked for a row not yet expired. Pages are full while more names remain.
   */
  scopes(scope: ScopePath, options: { after?: string; limit: number; now: number }): string[] {
    const row = this.ids.find(scope)
    if (!row) return []
    const names: string[] = []
    let after = options.after
    for (;;) {
      const wanted = options.limit - names.length
      const candidates =
        after === undefined
          ? this.statements.firstChildren.all(row.id, wanted)
          : this.statements.children.all(row.id, after, wanted)
      for (const child of candidates) {
        after = child.name
        if (
          child.keys > child.expiring ||
          this.statements.subtreeHasLive.get({ id: child.id, now: options.now }) !== undefined
        ) {
          names.push(child.name)
        }
      }
      if (candidates.length < wanted || names.length >= options.limit) return names
    }
  }
}
