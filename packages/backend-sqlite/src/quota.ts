import { type QuotaExceededError, type QuotaRule, quotaCheck, type Usage, type WriteRequest } from '@cubby/core/backend'
import type { ApplyContext } from './apply.js'
import type { Tx } from './tx.js'

/** Expired rows a quota refusal reclaims in its subtree before deciding, at most. */
const QUOTA_RECLAIM = 1000

/** How a request changes the counters (physical rows) and the live usage of the scopes above it. */
export interface Measured {
  keys: number
  bytes: number
  expiring: number
  live: Usage
  /** Keys with a stored row (live or expired) that the request replaces or deletes. */
  replaced: Set<string>
}

const plus = (usage: Usage, change: Usage): Usage => ({
  keys: usage.keys + change.keys,
  bytes: usage.bytes + change.bytes,
})

/** Whether usage is past a limit of the rule. */
function over(rule: QuotaRule, usage: Usage): boolean {
  return (
    (rule.maxKeys !== undefined && usage.keys > rule.maxKeys) ||
    (rule.maxBytes !== undefined && usage.bytes > rule.maxBytes)
  )
}

/**
 * The quota error a request must fail with, if any. The counters include expired rows not yet reclaimed, so a
 * refusal by the counters is decided again on live figures — after reclaiming a bounded chunk of that quota's
 * subtree (only there), the rest of its expired rows subtracted (counted through the expiry index, not deleted).
 * `remeasure` recomputes the request's change after a reclaim removed rows it had read.
 */
export function quotaRefusal(
  ctx: ApplyContext,
  tx: Tx,
  request: WriteRequest,
  change: Measured,
  remeasure: () => Measured,
): QuotaExceededError | undefined {
  for (const rule of request.quotas) {
    const row = ctx.ids.find(rule.scope)
    const before = row ? tx.usageOf(row.id) : { keys: 0, bytes: 0, expiring: 0 }
    const after = plus(before, change)
    const error = quotaCheck(rule, before, after)
    // Within the limits by the counters means within them live (live usage is never more).
    if (!error && !over(rule, after)) continue
    // Without rows that expire, the counters are the live figures.
    if (!row || before.expiring === 0) {
      if (error) return error
      continue
    }
    tx.flushUsage() // the subtree walk reads the flags and counters in the table
    if (ctx.sweeper.reclaimSubtree(tx, row.id, request.now, QUOTA_RECLAIM) > 0) {
      change = remeasure()
      tx.flushUsage()
    }
    const live = ctx.statements.liveUsage.get({ id: row.id, now: request.now })!
    const refusal = quotaCheck(rule, live, plus(live, change.live))
    if (refusal) return refusal
  }
  return undefined
}
