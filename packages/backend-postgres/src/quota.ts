import { type QuotaExceededError, type QuotaRule, quotaCheck, type Usage, type WriteRequest } from '@cubby/core/backend'
import { reclaimSubtree } from './reclaim.js'
import type { Tx } from './tx.js'

/** Expired rows a quota refusal reclaims in its subtree before deciding, at most. */
const QUOTA_RECLAIM = 1000

/** How a request changes the counters (physical rows) and the live usage of the scopes above it. */
export interface Measured {
  keys: number
  bytes: number
  expiring: number
  live: Usage
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
 * The quota error a request must fail with, if any. The counters (read under the write lock, so exact across
 * instances) include expired rows not yet reclaimed, so a refusal by the counters is decided again on live figures:
 * after reclaiming a bounded chunk of that quota's subtree (only there), the rest of its expired rows subtracted.
 * `remeasure` recomputes the request's change after a reclaim removed rows it had read.
 */
export async function quotaRefusal(
  tx: Tx,
  request: WriteRequest,
  change: Measured,
  remeasure: () => Promise<Measured>,
): Promise<QuotaExceededError | undefined> {
  for (const rule of request.quotas) {
    const row = (await tx.scopes([rule.scope], false))[0]
    const before = row ? await tx.usageOf(row.id) : { keys: 0, bytes: 0, expiring: 0 }
    const after = plus(before, change)
    const error = quotaCheck(rule, before, after)
    // Within the limits by the counters means within them live (live usage is never more).
    if (!error && !over(rule, after)) continue
    // Without rows that expire, the counters are the live figures.
    if (!row || before.expiring === 0) {
      if (error) return error
      continue
    }
    await tx.flush() // the subtree walk reads the flags and counters in the table
    if ((await reclaimSubtree(tx, row.id, request.now, QUOTA_RECLAIM)) > 0) {
      tx.forgetReads()
      change = await remeasure()
      await tx.flush()
    }
    const live = await tx.client.query<Usage>({ ...tx.sql.liveUsage, values: [row.id, request.now] })
    const usage = live.rows[0] ?? { keys: 0, bytes: 0 }
    const refusal = quotaCheck(rule, usage, plus(usage, change.live))
    if (refusal) return refusal
  }
  return undefined
}
