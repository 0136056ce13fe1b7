import type { Tx } from './tx.js'

/** Rows deleted per statement, so one statement never builds a large result. */
const CHUNK = 500

/**
 * Reclaims up to `limit` expired entries in the subtree of scope row `id` only (for a quota refusal), giving their
 * space back to every ancestor. The flags in the table must be current (`tx.flush()` first). Expiry emits no events.
 */
export async function reclaimSubtree(tx: Tx, id: number, now: number, limit: number): Promise<number> {
  let total = 0
  const scopes = await tx.client.query<{ id: number }>({ ...tx.sql.ttlSubtree, values: [id] })
  for (const { id: scope } of scopes.rows) {
    const ancestors = await tx.ancestorsOf(scope)
    while (total < limit) {
      const want = Math.min(CHUNK, limit - total)
      const rows = await tx.client.query<{ size: number }>({ ...tx.sql.reclaimIn, values: [scope, now, want] })
      for (const { size } of rows.rows) tx.addUsage(ancestors, -1, -size, -1)
      total += rows.rows.length
      if (rows.rows.length < want) break
    }
    if (total >= limit) break
  }
  await tx.flush()
  return total
}

/** Reclaims up to `limit` expired entries anywhere (the background sweep); returns how many. */
export async function reclaimDue(tx: Tx, now: number, limit: number): Promise<number> {
  let total = 0
  while (total < limit) {
    const want = Math.min(CHUNK, limit - total)
    const rows = await tx.client.query<{ scope: number; size: number }>({ ...tx.sql.reclaim, values: [now, want] })
    for (const { scope, size } of rows.rows) tx.addUsage(await tx.ancestorsOf(scope), -1, -size, -1)
    total += rows.rows.length
    if (rows.rows.length < want) break
  }
  await tx.flush()
  return total
}
