import { ClosedError, CubbyError } from '@cubby/core/backend'
import type Database from 'better-sqlite3'
import type { Statements } from './statements.js'
import { Tx, UsageUpdates } from './tx.js'

interface Outcome {
  ok: boolean
  value: unknown
}

interface Job {
  run(tx: Tx): unknown
  resolve(value: unknown): void
  reject(error: unknown): void
}

/**
 * Group commit: every write issued in the same tick joins one BEGIN IMMEDIATE transaction, and each
 * caller's promise settles once that transaction has committed. A job that fails validation (a `CubbyError`,
 * thrown before it writes anything) fails alone; a database error fails the whole transaction and every job in it.
 */
export class Writer {
  private queue: Job[] = []
  private scheduled = false
  private closed = false
  private readonly updates: UsageUpdates
  /** The group transaction, wrapped once: better-sqlite3's wrapper is not free to build. */
  private readonly runGroup: Database.Transaction<(jobs: Job[], outcomes: Outcome[]) => boolean>

  constructor(
    db: Database.Database,
    private readonly statements: Statements,
    private readonly mapError: (error: unknown) => unknown,
    /** Called after each commit, with whether changes were logged. */
    private readonly committed: (logged: boolean) => void,
    /** Called after a rollback, so caches that may hold rolled-back rows are dropped. */
    private readonly rolledBack: () => void,
  ) {
    this.updates = new UsageUpdates(db)
    this.runGroup = db.transaction((jobs: Job[], outcomes: Outcome[]) => {
      const tx = new Tx(this.statements, this.updates)
      for (const job of jobs) {
        try {
          outcomes.push({ ok: true, value: job.run(tx) })
        } catch (error) {
          if (!(error instanceof CubbyError)) throw error // a database error: abort the transaction
          outcomes.push({ ok: false, value: error })
        }
      }
      tx.finish()
      return tx.logged
    })
  }

  /** Queues `run` for the next group transaction. `run` must throw only before writing, or via the database. */
  enqueue<T>(run: (tx: Tx) => T): Promise<T> {
    if (this.closed) return Promise.reject(new ClosedError())
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, resolve: resolve as (value: unknown) => void, reject })
      if (!this.scheduled) {
        this.scheduled = true
        // Same tick: everything issued before the current task yields (a Promise.all of writes) shares the batch,
        // and a lone awaited write commits without waiting for the event loop to turn.
        queueMicrotask(() => this.flush())
      }
    })
  }

  /** Runs every queued job in one transaction. */
  flush(): void {
    this.scheduled = false
    const jobs = this.queue
    if (jobs.length === 0) return
    this.queue = []
    const outcomes: Outcome[] = []
    let logged = false
    try {
      logged = this.runGroup.immediate(jobs, outcomes)
    } catch (error) {
      this.rolledBack()
      const failure = this.mapError(error)
      for (const job of jobs) job.reject(failure)
      return
    }
    jobs.forEach((job, i) => {
      const outcome = outcomes[i]!
      if (outcome.ok) job.resolve(outcome.value)
      else job.reject(outcome.value)
    })
    this.committed(logged)
  }

  /** Commits what is queued, then refuses new work. */
  close(): void {
    this.flush()
    this.closed = true
  }
}
