import { WATCHER_STALE_MS } from './feed.js'
import type { ScopeIds } from './scope-ids.js'
import type { Statements } from './statements.js'
import type { Tx } from './tx.js'
import type { Writer } from './writer.js'

/** Rows read per statement round, so one round never builds a large result. */
const CHUNK = 500
/** Expired entries reclaimed per background transaction; the sweep keeps going, one transaction at a time. */
export const SWEEP_BATCH = 2000
/** Change-log rows pruned per background transaction. */
export const PRUNE_BATCH = 5000

/** Removes expired entries and old change-log rows, giving the entries' space back to every ancestor. */
export class Sweeper {
  constructor(
    private readonly statements: Statements,
    private readonly ids: ScopeIds,
    private readonly retentionMs: number,
  ) {}

  /** Whether anything has expired by `now` (one index probe, outside any transaction). */
  anyDue(now: number): boolean {
    return this.statements.anyDue.get(now) !== undefined
  }

  /** Reclaims up to `limit` expired entries anywhere; returns how many. Expiry emits no events. */
  reclaim(tx: Tx, now: number, limit: number): number {
    let total = 0
    while (total < limit) {
      const rows = this.statements.due.all(now, Math.min(CHUNK, limit - total))
      for (const [scope, key, size] of rows) {
        this.statements.remove.run(scope, key)
        tx.addUsage(this.ids.ancestorsOf(scope), -1, -size, -1)
      }
      total += rows.length
      if (rows.length < CHUNK) break
    }
    return total
  }

  /**
   * Reclaims up to `limit` expired entries in the subtree of scope row `id` only (for a quota refusal). The flags in
   * the table must be current (`tx.flushUsage()` first).
   */
  reclaimSubtree(tx: Tx, id: number, now: number, limit: number): number {
    let total = 0
    for (const scope of this.statements.ttlSubtree.all({ id })) {
      const ancestors = this.ids.ancestorsOf(scope)
      while (total < limit) {
        const rows = this.statements.dueIn.all(scope, now, Math.min(CHUNK, limit - total))
        for (const [key, size] of rows) {
          this.statements.remove.run(scope, key)
          tx.addUsage(ancestors, -1, -size, -1)
        }
        total += rows.length
        if (rows.length < CHUNK) break
      }
      if (total >= limit) break
    }
    return total
  }

  /**
   * The change-log cutoff: rows older than this are pruned. It honours the longest retention any live watcher (of
   * any process) registered, so a process with a short retention does not prune rows others still need.
   */
  private cutoff(wall: number): number {
    const longest = this.statements.longestRetention.get(wall - WATCHER_STALE_MS) ?? 0
    return wall - Math.max(this.retentionMs, longest)
  }

  /** Whether the oldest change-log row is past the cutoff (reads only). */
  pruneDue(wall: number): boolean {
    const oldest = this.statements.oldestChangeAt.get()
    return oldest !== undefined && oldest < this.cutoff(wall)
  }

  /** Prunes up to PRUNE_BATCH of the oldest change-log rows past the cutoff; returns how many. */
  prune(wall: number): number {
    return this.statements.pruneChanges.run(PRUNE_BATCH, this.cutoff(wall)).changes
  }
}

/**
 * Runs the sweep every `intervalMs`; when it finds work it keeps going — one bounded transaction (solo: not part of
 * a user's group commit) at a time, with the event loop turning in between — until nothing is due.
 */
export class BackgroundSweep {
  private readonly timer: NodeJS.Timeout
  private running = false
  private stopped = false

  constructor(
    private readonly sweeper: Sweeper,
    private readonly writer: Writer,
    private readonly clock: () => number,
    intervalMs: number,
  ) {
    this.timer = setInterval(() => this.start(), intervalMs)
    this.timer.unref()
  }

  /** Starts a sweep unless one is running. */
  start(): void {
    if (this.running || this.stopped) return
    this.running = true
    this.step()
  }

  private step(): void {
    if (this.stopped) {
      this.running = false
      return
    }
    const now = this.clock()
    const wall = Date.now()
    let reclaim = false
    let prune = false
    try {
      reclaim = this.sweeper.anyDue(now)
      prune = this.sweeper.pruneDue(wall)
    } catch {
      // a read that failed (busy, closed) is retried at the next interval
    }
    if (!reclaim && !prune) {
      this.running = false
      return
    }
    this.writer
      .enqueue(
        (tx) => ({
          reclaimed: reclaim ? this.sweeper.reclaim(tx, now, SWEEP_BATCH) : 0,
          pruned: prune ? this.sweeper.prune(wall) : 0,
        }),
        undefined,
        true,
      )
      .then(
        ({ reclaimed, pruned }) => {
          if (reclaimed < SWEEP_BATCH && pruned < PRUNE_BATCH) this.running = false
          else setImmediate(() => this.step())
        },
        () => {
          this.running = false // the next interval retries; expired entries are invisible to reads either way
        },
      )
  }

  stop(): void {
    this.stopped = true
    clearInterval(this.timer)
  }
}
