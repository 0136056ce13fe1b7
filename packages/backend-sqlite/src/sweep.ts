import type { ScopeIds } from './scope-ids.js'
import type { Statements } from './statements.js'
import type { Tx } from './tx.js'

/** Rows reclaimed per statement round, so one sweep never holds the write lock for long. */
const CHUNK = 500

/** Removes expired entries (found through the expiry index) and gives their space back to every ancestor. */
export class Sweeper {
  constructor(
    private readonly statements: Statements,
    private readonly ids: ScopeIds,
  ) {}

  /** Whether anything has expired by `now` (one index probe). */
  anyDue(now: number): boolean {
    return this.statements.anyDue.get(now) !== undefined
  }

  /** Reclaims up to `limit` expired entries inside a write transaction; returns how many. Expiry emits no events. */
  reclaim(tx: Tx, now: number, limit = Number.POSITIVE_INFINITY): number {
    let total = 0
    while (total < limit) {
      const rows = this.statements.due.all(now, Math.min(CHUNK, limit - total))
      for (const row of rows) {
        this.statements.remove.run(row.scope, row.key)
        tx.addUsage(this.ids.ancestorsOf(row.scope), -1, -row.size)
      }
      total += rows.length
      if (rows.length < CHUNK) break
    }
    return total
  }
}
