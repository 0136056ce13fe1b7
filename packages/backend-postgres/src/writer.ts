import { ClosedError, CubbyError, type WriteRequest } from '@cubby/core/backend'
import type pg from 'pg'
import { prefetchWrites } from './apply.js'
import { isConnectionError, isRetryable } from './errors.js'
import { VERSION_BLOCK } from './schema.js'
import type { Tx } from './tx.js'
import { corked } from './wire.js'

/** A queued job; its outcome is kept on it until the commit settles it. */
interface Job {
  run(tx: Tx, arg: unknown): Promise<unknown>
  arg: unknown
  /** The write request, when the job is one (its rows are read for the whole group in one round trip). */
  request: WriteRequest | undefined
  resolve(value: unknown): void
  reject(error: unknown): void
  /** Runs in a transaction of its own (clear, drop, watch bookkeeping, sweep), not in the group. */
  solo: boolean
  failed: boolean
  value: unknown
  error: unknown
}

/** What the writer needs from the backend. */
export interface WriterHooks {
  /** A connection from the pool (waits bounded by the pool's connection timeout). */
  connect(): Promise<pg.PoolClient>
  /** A transaction's working state on a connection. */
  newTx(client: pg.PoolClient): Tx
  /** `BEGIN`, the write lock and `blocks` nextval of the versions sequence, in one round trip: the block starts. */
  begin(client: pg.PoolClient, blocks: number): Promise<number[]>
  /** Maps a driver error to the `BackendError` callers get. */
  mapError(error: unknown): Error
  /** After each commit. */
  committed(tx: Tx): void
}

/**
 * Most jobs, and value bytes, in one group transaction (the rest go to the next one). Values go to the socket from
 * the buffers the requests already hold (see `Pieces`), so the byte bound no longer sizes a copy; what a group costs
 * besides its rows is two round trips and a commit (an fsync). 10,000 sets of 10 KiB: groups of 16 MiB (7 of them)
 * took 458 ms after the last set call, groups of 4,000 jobs (3; 40 MB each) 381 ms (medians of 5, alternated).
 */
const MAX_GROUP = 4000
const MAX_GROUP_BYTES = 64 * 1024 * 1024
/** Runs of one group after the server aborted it (serialization failure, deadlock). */
const MAX_ATTEMPTS = 4

/**
 * Group commit: every write issued while the previous transaction runs joins the next one, which reads what all of
 * them need in one round trip, applies them in order in memory, writes them in one statement, and commits; each
 * caller's promise settles once that transaction has committed. Every write transaction of every process holds the
 * schema's write lock (an advisory lock) from its start to its commit, so writes never deadlock or lose updates, and
 * the change log's order is the commit order.
 *
 * - A job that refuses (a `CubbyError`, thrown before it stages anything) fails alone.
 * - A statement error fails the group; its jobs then run again one transaction each, so only the culprit fails. A
 *   connection error fails every job of the group at once (the next group gets a fresh connection).
 */
export class Writer {
  private queue: Job[] = []
  private running = false
  private closed = false
  private readonly idle: Array<() => void> = []
  /** Counts for tests and diagnostics. */
  readonly stats = { transactions: 0, jobs: 0 }

  constructor(
    private readonly hooks: WriterHooks,
    private readonly versions: { available: number; add(starts: readonly number[]): void },
  ) {}

  /** Queues a write request. */
  write(run: (tx: Tx, request: WriteRequest) => Promise<unknown>, request: WriteRequest): Promise<unknown> {
    return this.push(run as Job['run'], request, request, false)
  }

  /** Queues `run(tx)`, in the group or (`solo`) in a transaction of its own. It may run more than once. */
  enqueue<T>(run: (tx: Tx) => Promise<T>, solo = true): Promise<T> {
    return this.push(run as Job['run'], undefined, undefined, solo) as Promise<T>
  }

  private push(run: Job['run'], arg: unknown, request: WriteRequest | undefined, solo: boolean): Promise<unknown> {
    if (this.closed) return Promise.reject(new ClosedError())
    return new Promise((resolve, reject) => {
      this.queue.push({ run, arg, request, resolve, reject, solo, failed: false, value: undefined, error: undefined })
      if (!this.running) {
        this.running = true
        queueMicrotask(() => void this.loop())
      }
    })
  }

  /** Settles what is queued, then refuses new work. */
  close(): Promise<void> {
    this.closed = true
    if (!this.running) return Promise.resolve()
    return new Promise((resolve) => this.idle.push(resolve))
  }

  private async loop(): Promise<void> {
    while (this.queue.length > 0) {
      let client: pg.PoolClient
      try {
        client = await this.hooks.connect()
      } catch (error) {
        this.failAll(this.queue.splice(0), error)
        continue
      }
      const jobs = this.take()
      let broken: unknown
      try {
        broken = await this.runGroup(client, jobs)
      } finally {
        client.release(broken && isConnectionError(broken) ? (broken as Error) : undefined)
      }
    }
    this.running = false
    for (const resolve of this.idle.splice(0)) resolve()
  }

  /** The next transaction's jobs: queued group jobs (within the size bounds), or else the first solo job. */
  private take(): Job[] {
    const group: Job[] = []
    const rest: Job[] = []
    let bytes = 0
    for (const job of this.queue) {
      if (job.solo || group.length >= MAX_GROUP || bytes >= MAX_GROUP_BYTES) rest.push(job)
      else {
        group.push(job)
        for (const op of job.request?.ops ?? []) if (op.type === 'set') bytes += op.value.byteLength
      }
    }
    if (group.length === 0) {
      this.queue = rest.slice(1)
      return [rest[0]!]
    }
    this.queue = rest
    return group
  }

  /** Runs a group; on a statement error, each job alone. Returns the connection error that ended it, if any. */
  private async runGroup(client: pg.PoolClient, jobs: Job[]): Promise<unknown> {
    for (let attempt = 1; ; attempt++) {
      const error = await this.transact(client, jobs)
      if (error === undefined) return undefined
      if (isRetryable(error) && attempt < MAX_ATTEMPTS) continue
      if (isConnectionError(error) || jobs.length === 1) {
        this.failAll(jobs, error)
        return error
      }
      for (const job of jobs) {
        const alone = await this.transact(client, [job])
        if (alone !== undefined) {
          job.reject(this.hooks.mapError(alone))
          if (isConnectionError(alone)) {
            this.failAll(jobs.slice(jobs.indexOf(job) + 1), alone)
            return alone
          }
        }
      }
      return undefined
    }
  }

  /** One transaction; settles its jobs when it commits, else returns the error (the jobs stay unsettled). */
  private async transact(client: pg.PoolClient, jobs: Job[]): Promise<unknown> {
    let ops = 0
    for (const job of jobs) for (const op of job.request?.ops ?? []) if (op.type !== 'delete') ops++
    const need = Math.max(0, ops - this.versions.available)
    const tx = this.hooks.newTx(client)
    const requests: WriteRequest[] = []
    for (const job of jobs) if (job.request) requests.push(job.request)
    try {
      // BEGIN + the write lock, then the prefetch, in one round trip (the connection pipelines them): the prefetch
      // is its own statement, so its snapshot is taken once the lock is held. If the lock fails, the transaction is
      // aborted and the prefetch fails with it.
      const [begun, prefetched] = corked(
        client,
        () => [this.hooks.begin(client, Math.ceil(need / VERSION_BLOCK)), prefetchWrites(tx, requests)] as const,
        true,
      )
      prefetched.catch(() => {}) // awaited below, unless `begun` fails first
      this.versions.add(await begun)
      this.stats.transactions++
      await prefetched
      for (const job of jobs) {
        try {
          job.value = await job.run(tx, job.arg)
          job.failed = false
        } catch (error) {
          if (!(error instanceof CubbyError)) throw error
          job.failed = true
          job.error = error
        }
      }
      // The last write and COMMIT in one round trip. If the write fails, the transaction is aborted and COMMIT
      // only ends it (rolled back).
      const [flushed, commit] = corked(client, () => [tx.flush(), client.query('COMMIT')] as const)
      commit.catch(() => {}) // awaited below, unless `flushed` fails first
      await flushed
      await commit
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {})
      return error
    }
    this.stats.jobs += jobs.length
    for (const job of jobs) {
      if (job.failed) job.reject(job.error)
      else job.resolve(job.value)
    }
    try {
      this.hooks.committed(tx)
    } catch {
      // delivering to watchers reports its own failures to them
    }
    return undefined
  }

  private failAll(jobs: Job[], error: unknown): void {
    const failure = this.hooks.mapError(error)
    for (const job of jobs) job.reject(failure)
  }
}
