import { ClosedError, CubbyError } from '@cubby/core/backend'
import type Database from 'better-sqlite3'
import { isBusy } from './errors.js'
import type { Tx } from './tx.js'

/** A queued job; its outcome is kept on it until the commit settles it (no object per outcome). */
interface Job {
  run(tx: Tx, arg: unknown): unknown
  arg: unknown
  resolve(value: unknown): void
  reject(error: unknown): void
  /** When this job stops waiting for another connection's lock (Date.now() + busyTimeoutMs at enqueue). */
  deadline: number
  /** Runs in a transaction of its own (background work), not in the group. */
  solo: boolean
  /** The outcome of the last run: `value`, or `error` when `failed`. */
  failed: boolean
  value: unknown
  error: unknown
}

/** What the writer needs from the backend. */
export interface WriterHooks {
  /** A transaction's working state. */
  newTx(): Tx
  /** Maps a driver error to the `BackendError` callers get. */
  mapError(error: unknown): Error
  /** The error of a job that waited for the lock past its deadline. */
  lockTimeout(cause: unknown): Error
  /** After each commit, with whether changes were logged. */
  committed(logged: boolean): void
  /** After any rollback (whole or to a savepoint): drop caches that may hold undone rows or reservations. */
  rolledBack(): void
}

/** Flushes run as microtasks (lowest latency) at most this many times before the event loop gets a turn. */
const MICROTASK_FLUSHES = 64
/** Restarts of one group after SQLite rolled the whole transaction back, before the rest fail too. */
const MAX_ROUNDS = 4

/** A statement error inside one job, carried out of the transaction so the group can go on without that job. */
class JobFailure {
  constructor(
    readonly index: number,
    readonly error: unknown,
  ) {}
}

/** Jittered exponential backoff for lock retries: about 1, 2, 4, 8, 16, then 20 ms. */
export function backoff(attempt: number): number {
  const ceiling = Math.min(20, 2 ** attempt)
  return ceiling / 2 + (Math.random() * ceiling) / 2
}

/**
 * Group commit: every write issued in the same tick joins one `BEGIN IMMEDIATE` transaction, and each caller's
 * promise settles once that transaction has committed.
 *
 * - A job that refuses (a `CubbyError`, thrown before it writes) fails alone.
 * - A statement error inside one job (disk full, too big) fails only that job: the group is rolled back and run
 *   again with a savepoint around each job. A failed COMMIT fails every job, and nothing is written.
 * - The lock is taken without SQLite's busy handler (which sleeps and freezes the event loop): when another
 *   connection holds it, the group waits on a timer with backoff, and jobs issued meanwhile join it. A job whose
 *   wait passes its deadline fails with a lock-timeout `BackendError`.
 */
export class Writer {
  private queue: Job[] = []
  private scheduled = false
  private waiting: NodeJS.Timeout | undefined
  private attempt = 0
  private closed = false
  private microFlushes = 0
  /** Solo jobs in the queue (usually none, so the group is the whole queue). */
  private solos = 0
  /** The SQLITE_BUSY error of the last failed attempt, the cause of a lock timeout. */
  private lastBusy: unknown
  private readonly idle: Array<() => void> = []
  private readonly begin: Database.Statement
  private readonly commit: Database.Statement
  private readonly rollback: Database.Statement
  private readonly savepoint: Database.Statement
  private readonly release: Database.Statement
  private readonly rollbackTo: Database.Statement
  /** Counts for tests and diagnostics, read through `@cubby/backend-sqlite/testing` (the writer itself is private). */
  readonly stats = { transactions: 0, jobs: 0, lockWaits: 0, replays: 0 }

  constructor(
    private readonly db: Database.Database,
    private readonly hooks: WriterHooks,
    private readonly busyTimeoutMs: number,
  ) {
    this.begin = db.prepare('BEGIN IMMEDIATE')
    this.commit = db.prepare('COMMIT')
    this.rollback = db.prepare('ROLLBACK')
    this.savepoint = db.prepare('SAVEPOINT job')
    this.release = db.prepare('RELEASE job')
    this.rollbackTo = db.prepare('ROLLBACK TO job')
  }

  /**
   * Queues `run(tx, arg)` for the next transaction (`solo`: in a transaction of its own). `run` may run more than
   * once (after a rollback), so it must depend only on the database, `tx` and `arg`, and throw a `CubbyError` only
   * before it writes (or after writing only what is valid alone, like reclaiming expired rows).
   */
  enqueue<T, A = undefined>(run: (tx: Tx, arg: A) => T, arg?: A, solo = false): Promise<T> {
    if (this.closed) return Promise.reject(new ClosedError())
    return new Promise<T>((resolve, reject) => {
      this.queue.push({
        run: run as (tx: Tx, arg: unknown) => unknown,
        arg,
        resolve: resolve as (value: unknown) => void,
        reject,
        deadline: Date.now() + this.busyTimeoutMs,
        solo,
        failed: false,
        value: undefined,
        error: undefined,
      })
      if (solo) this.solos++
      this.schedule()
    })
  }

  /** Whether nothing is queued or waiting. */
  get isIdle(): boolean {
    return this.queue.length === 0 && !this.waiting
  }

  /** Settles what is queued (committing it, or failing it once its lock wait times out), then refuses new work. */
  close(): Promise<void> {
    this.closed = true
    if (!this.waiting) this.flush()
    if (this.isIdle) return Promise.resolve()
    return new Promise((resolve) => this.idle.push(resolve))
  }

  private schedule(): void {
    if (this.scheduled || this.waiting) return
    this.scheduled = true
    // Same tick: everything issued before the current task yields (a Promise.all of writes) shares the batch, and
    // a lone awaited write commits without waiting for the event loop. But a loop of awaited writes would never let
    // timers or I/O run, so every MICROTASK_FLUSHES flushes the next one waits for the loop to turn.
    if (this.microFlushes < MICROTASK_FLUSHES) {
      if (this.microFlushes++ === 0) {
        setImmediate(() => {
          this.microFlushes = 0
        })
      }
      queueMicrotask(() => this.flush())
    } else setImmediate(() => this.flush())
  }

  /** Runs what is queued: the group in one transaction, then each solo job in its own. */
  private flush(): void {
    this.scheduled = false
    if (this.waiting) return
    while (this.queue.length > 0) {
      const jobs = this.take()
      const left = this.transact(jobs)
      if (left.length > 0) {
        for (const job of left) if (job.solo) this.solos++
        this.queue = left.concat(this.queue)
        this.waitForLock()
        return
      }
      this.attempt = 0
    }
    this.settleIdle()
  }

  /** The next transaction's jobs: every queued group job, or else the first solo job. */
  private take(): Job[] {
    const queue = this.queue
    if (this.solos === 0) {
      this.queue = []
      return queue
    }
    const group = queue.filter((job) => !job.solo)
    if (group.length > 0) {
      this.queue = queue.filter((job) => job.solo)
      return group
    }
    this.queue = queue.slice(1)
    this.solos--
    return [queue[0]!]
  }

  /** Fails jobs whose wait is over, and retries the rest once the backoff (or the first deadline) elapses. */
  private waitForLock(): void {
    const now = Date.now()
    const expired = this.queue.filter((job) => job.deadline <= now)
    if (expired.length > 0) {
      this.queue = this.queue.filter((job) => job.deadline > now)
      this.solos = this.queue.filter((job) => job.solo).length
      const error = this.hooks.lockTimeout(this.lastBusy)
      for (const job of expired) job.reject(error)
    }
    if (this.queue.length === 0) {
      this.attempt = 0
      this.settleIdle()
      return
    }
    this.stats.lockWaits++
    let first = Number.POSITIVE_INFINITY
    for (const job of this.queue) first = Math.min(first, job.deadline)
    const delay = Math.max(0, Math.min(backoff(this.attempt++), first - now))
    this.waiting = setTimeout(() => {
      this.waiting = undefined
      this.flush()
    }, delay)
  }

  private settleIdle(): void {
    if (!this.isIdle) return
    for (const resolve of this.idle.splice(0)) resolve()
  }

  /** Runs one transaction. Returns the jobs still to run when the lock was busy (none otherwise). */
  private transact(jobs: Job[]): Job[] {
    let pending = jobs
    for (let round = 0; pending.length > 0; round++) {
      try {
        this.begin.run()
      } catch (error) {
        if (isBusy(error)) {
          this.lastBusy = error
          return pending
        }
        this.failAll(pending, error)
        return []
      }
      this.stats.transactions++
      pending = round === 0 ? this.runFast(pending) : this.runSafe(pending, round >= MAX_ROUNDS)
    }
    return []
  }

  /**
   * The usual path: every job in one transaction, no savepoints. A statement error inside a job rolls back the
   * group; that job fails and the rest are returned, to run again with savepoints.
   */
  private runFast(jobs: Job[]): Job[] {
    const tx = this.hooks.newTx()
    try {
      for (let i = 0; i < jobs.length; i++) {
        const job = jobs[i]!
        try {
          job.value = job.run(tx, job.arg)
          job.failed = false
        } catch (error) {
          if (!(error instanceof CubbyError)) throw new JobFailure(i, error)
          job.failed = true
          job.error = error
        }
      }
      tx.finish()
    } catch (failure) {
      this.undo()
      this.stats.replays++
      // Writing the usage counters failed: no job to blame, so all run again, each in its own savepoint.
      if (!(failure instanceof JobFailure)) return jobs
      jobs[failure.index]!.reject(this.hooks.mapError(failure.error))
      return jobs.filter((_, i) => i !== failure.index)
    }
    this.finishCommit(jobs, tx)
    return []
  }

  /**
   * After a statement error: each job inside a savepoint, so one that fails is undone alone. If SQLite rolled the
   * whole transaction back (it may, on a full disk), that job fails and the others are returned to run again.
   */
  private runSafe(jobs: Job[], last: boolean): Job[] {
    const tx = this.hooks.newTx()
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i]!
      try {
        tx.flushUsage() // so a rollback to the savepoint undoes exactly this job's counters
        this.savepoint.run()
      } catch (error) {
        this.undo()
        this.failAll(jobs, error)
        return []
      }
      try {
        try {
          job.value = job.run(tx, job.arg)
          job.failed = false
        } catch (error) {
          if (!(error instanceof CubbyError)) throw error
          job.failed = true
          job.error = error
        }
        tx.flushUsage()
        this.release.run()
      } catch (error) {
        if (!this.db.inTransaction) {
          this.hooks.rolledBack()
          job.reject(this.hooks.mapError(error))
          const rest = jobs.filter((_, j) => j !== i)
          if (!last) return rest
          this.failAll(rest, error)
          return []
        }
        try {
          this.rollbackTo.run()
          this.release.run()
        } catch (fatal) {
          this.undo()
          this.failAll(jobs, fatal)
          return []
        }
        tx.dropPending()
        this.hooks.rolledBack()
        job.failed = true
        job.error = this.hooks.mapError(error)
      }
    }
    this.finishCommit(jobs, tx)
    return []
  }

  /** Commits, then settles every job; a failed commit rolls back and fails them all. */
  private finishCommit(jobs: Job[], tx: Tx): void {
    try {
      tx.finish()
      this.commit.run()
    } catch (error) {
      this.undo()
      this.failAll(jobs, error)
      return
    }
    this.stats.jobs += jobs.length
    for (const job of jobs) {
      if (job.failed) job.reject(job.error)
      else job.resolve(job.value)
    }
    try {
      this.hooks.committed(tx.logged)
    } catch {
      // delivering to watchers reports its own failures to them
    }
  }

  private undo(): void {
    try {
      if (this.db.inTransaction) this.rollback.run()
    } catch {
      // the connection rolls back on its own when ROLLBACK itself fails
    }
    this.hooks.rolledBack()
  }

  private failAll(jobs: Job[], error: unknown): void {
    const failure = this.hooks.mapError(error)
    for (const job of jobs) job.reject(failure)
  }
}
