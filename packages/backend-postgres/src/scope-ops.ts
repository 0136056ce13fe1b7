import type { ScopePath, Usage } from '@cubby/core/backend'
import type pg from 'pg'
import { pathBytes } from './scope-ids.js'
import type { Statements } from './sql.js'
import type { Tx } from './tx.js'

/**
 * The operations on whole scopes: clear, drop (write jobs), usage and scopes (reads). Each costs in proportion to
 * the data of the scope asked about — subtrees are walked through the `holds` / `ttl` flag indexes, which skip
 * descendants that hold nothing — and none of them touches anything outside it.
 */

/** Removes a scope's own rows (inside a write transaction); returns how many were live. */
export async function clearScope(tx: Tx, scope: ScopePath, now: number): Promise<number> {
  const row = (await tx.scopes([scope], false))[0]
  return row ? removeOwn(tx, row.id, row.ancestors, now) : 0
}

/** Removes a scope's own rows and every descendant's (inside a write transaction). */
export async function dropScope(tx: Tx, scope: ScopePath, now: number): Promise<void> {
  const row = (await tx.scopes([scope], false))[0]
  if (!row) return
  await tx.flush()
  const ancestry = new Map<number, readonly number[]>([[row.id, row.ancestors]])
  const subtree = await tx.client.query<{ id: number; parent: number | null }>({
    ...tx.sql.holdingSubtree,
    values: [row.id],
  })
  for (const { id, parent } of subtree.rows) {
    const ancestors = id === row.id ? row.ancestors : [...ancestry.get(parent!)!, id]
    ancestry.set(id, ancestors)
    await removeOwn(tx, id, ancestors, now)
  }
}

/**
 * Removes the rows of scope row `id`, giving their space back to its ancestors and logging a delete per live key
 * for watchers. Returns how many were live.
 */
async function removeOwn(tx: Tx, id: number, ancestors: readonly number[], now: number): Promise<number> {
  const removed = await tx.client.query<{ key: Buffer; expires_at: number | null; size: number }>({
    ...tx.sql.removeScope,
    values: [id],
  })
  if (removed.rows.length === 0) return 0
  const watched = await tx.isWatched(id)
  let live = 0
  let bytes = 0
  let expiring = 0
  for (const row of removed.rows) {
    bytes += row.size
    if (row.expires_at !== null) expiring++
    if (row.expires_at !== null && row.expires_at <= now) continue
    live++
    if (watched) tx.record(id, row.key.toString('utf8'), null)
  }
  tx.addUsage(ancestors, -removed.rows.length, -bytes, -expiring)
  tx.forgetReads()
  await tx.flush()
  return live
}

/** Live keys and bytes of a subtree: one row of counters, minus its expired rows when it has any with an expiry. */
export async function usageOf(pool: pg.Pool, sql: Statements, scope: ScopePath, now: number): Promise<Usage> {
  const result = await pool.query<Usage>({ ...sql.liveUsageByPath, values: [pathBytes(scope), now] })
  return result.rows[0] ?? { keys: 0, bytes: 0 }
}

/**
 * Names of direct children whose subtree holds live data, after `after`, at most `limit`. Candidates come from the
 * `holds` index in name order; one holding a row without expiry is live at once, one whose rows all expire is
 * checked for a row not yet expired. Pages are full while more names remain.
 */
export async function childScopes(
  pool: pg.Pool,
  sql: Statements,
  scope: ScopePath,
  options: { after?: string; limit: number; now: number },
): Promise<string[]> {
  const path = pathBytes(scope)
  const names: string[] = []
  let after: Buffer = Buffer.from(options.after ?? '', 'utf8')
  for (;;) {
    const wanted = options.limit - names.length
    const candidates = await pool.query<{ name: Buffer; id: number; keys: number; expiring: number }>({
      ...sql.children,
      values: [path, after, wanted],
    })
    for (const child of candidates.rows) {
      after = child.name
      const live =
        child.keys > child.expiring ||
        (await pool.query({ ...sql.subtreeHasLive, values: [child.id, options.now] })).rows.length > 0
      if (live) names.push(child.name.toString('utf8'))
    }
    if (candidates.rows.length < wanted || names.length >= options.limit) return names
  }
}
