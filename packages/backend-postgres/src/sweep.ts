import type pg from 'pg'
import { reclaimDue } from './reclaim.js'
import type { Statements } from './sql.js'
import { WATCHER_STALE_MS } from './tx.js'
import type { Writer } from './writer.js'

/** Expired entries reclaimed per background transaction; the sweep keeps going, one transaction at a time. */
const SWEEP_BATCH = 2000
/** Change-log rows pruned per background transaction. */
const PRUNE_BATCH = 5000

/**
 * Every `intervalMs`: reclaims expired entries (giving their space back to every ancestor's counters) and prunes
 * change-log rows older than the longest retention any live watcher registered. When it finds work it keeps going,
 * one bounded transaction at a time, until nothing is due. Failures are retried at the next interval.
 */
export class BackgroundSweep {
  private readonly timer: NodeJS.Timeout
  private running = false
  private stopped = false

  constructor(
    private readonly pool: pg.Pool,
    private readonly sql: Statements,
    private readonly writer: Writer,
    private readonly clock: () => number,
    private readonly retentionMs: number,
    intervalMs: number,
  ) {
    this.timer = setInterval(() => void this.start(), intervalMs)
    this.timer.unref()
  }

  private async start(): Promise<void> {
    if (this.running || this.stopped) return
    this.running = true
    try {
      for (;;) {
        if (this.stopped) return
        const now = this.clock()
        const due = (await this.pool.query({ ...this.sql.anyDue, values: [now] })).rows.length > 0
        const oldest = (await this.pool.query<{ at: number }>(this.sql.oldestChangeAt)).rows[0]?.at
        const wall = Date.now()
        const prune = oldest !== undefined && oldest < wall - this.retentionMs
        if (!due && !prune) return
        const done = await this.writer.enqueue(async (tx) => {
          const reclaimed = due ? await reclaimDue(tx, now, SWEEP_BATCH) : 0
          let pruned = 0
          if (prune) {
            const longest = await tx.client.query<{ ms: number | null }>({
              ...this.sql.longestRetention,
              values: [wall - WATCHER_STALE_MS],
            })
            const cutoff = wall - Math.max(this.retentionMs, longest.rows[0]?.ms ?? 0)
            const result = await tx.client.query<{ n: number }>({
              ...this.sql.pruneChanges,
              values: [PRUNE_BATCH, cutoff],
            })
            pruned = result.rows[0]?.n ?? 0
          }
          return reclaimed >= SWEEP_BATCH || pruned >= PRUNE_BATCH
        })
        if (!done) return
      }
    } catch {
      // retried at the next interval; expired entries are invisible to reads either way
    } finally {
      this.running = false
    }
  }

  stop(): void {
    this.stopped = true
    clearInterval(this.timer)
  }
}
