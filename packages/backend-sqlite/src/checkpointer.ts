import { createRequire } from 'node:module'
import { resolve as absolutePath } from 'node:path'
import { Worker } from 'node:worker_threads'

/** Commits between two wake-ups of the checkpoint thread (about 600 WAL frames of 100-byte sets). */
export const CHECKPOINT_EVERY = 256
/**
 * The writer connection's own `wal_autocheckpoint` (in WAL frames, about 64 MiB of 4 KiB pages): the fallback that
 * bounds the WAL when the thread lags or is gone, and what lets the WAL restart from its beginning under a steady
 * stream of writes (a checkpoint that runs while commits keep coming never ends fully caught up). It runs inside a
 * commit and fsyncs both files on the writer's thread, however little is left to copy (1-10 ms on a busy disk), so
 * it is kept rare: at 4096 frames it cost a stream of awaited 100-byte sets 7-10 µs a write under load.
 */
export const FALLBACK_AUTOCHECKPOINT = 16384
/** The thread also checkpoints after this long without a wake-up if anything was committed meanwhile. */
const IDLE_MS = 1000

/** Slots of the shared state. */
const COMMITS = 0
const BELL = 1
const STOP = 2

/**
 * The thread's code (CommonJS, run with `eval`, so it works from both the built and the TypeScript sources): its own
 * connection to the file runs `PRAGMA wal_checkpoint(PASSIVE)` — which never blocks a writer — each time the bell
 * rings, and after an idle second if commits came in. A busy checkpoint (another process is checkpointing) is
 * skipped; any other failure is posted to the owner, and the thread goes on.
 */
const SOURCE = `
const { workerData, parentPort } = require('node:worker_threads')
const Database = require(workerData.driver)
const state = new Int32Array(workerData.state)
const db = new Database(workerData.file, { fileMustExist: true })
try {
  db.pragma('busy_timeout = 0')
  db.pragma('wal_autocheckpoint = 0')
  db.pragma('synchronous = ' + workerData.synchronous)
  const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)').raw(true)
  let done = -1
  while (Atomics.load(state, ${STOP}) === 0) {
    const bell = Atomics.load(state, ${BELL})
    const commits = Atomics.load(state, ${COMMITS})
    if (commits !== done) {
      done = commits
      try {
        const [busy] = checkpoint.get()
        if (busy === 0) parentPort.postMessage({ done: true })
      } catch (error) {
        if (!String(error.code).startsWith('SQLITE_BUSY')) parentPort.postMessage({ error: String(error.message), code: String(error.code) })
      }
    }
    Atomics.wait(state, ${BELL}, bell, ${IDLE_MS})
  }
} finally {
  db.close()
}
`

/** What the checkpoint thread reported, for tests and diagnostics. */
export interface CheckpointStats {
  /** Whether the thread was started (it starts after the first `CHECKPOINT_EVERY` commits). */
  started: boolean
  /** Checkpoints it completed (some of them may have had nothing to copy). */
  checkpoints: number
  /** Its last failure (the writer's own fallback checkpoint goes on), e.g. `SQLITE_IOERR: disk I/O error`. */
  lastError: string | undefined
}

/**
 * Moves WAL checkpoints off the write path. A checkpoint copies committed pages from the WAL into the database and
 * fsyncs both files; run by the committing connection (SQLite's default, every 1000 frames) it stalls the write
 * that triggers it for milliseconds, and under a stream of awaited writes that was the largest share of their
 * cost. Here a worker thread with its own connection checkpoints every `CHECKPOINT_EVERY` commits, in parallel with
 * the writer; the writer keeps `FALLBACK_AUTOCHECKPOINT`, so a lagging or failed thread changes only speed.
 * Durability is the same: the thread's connection uses the writer's `synchronous` level, and SQLite's checkpoint
 * protocol is the same whichever connection runs it.
 */
export class Checkpointer {
  private readonly state = new Int32Array(new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT))
  private worker: Worker | undefined
  private exited: Promise<void> | undefined
  private commits = 0
  /** Closed, or the thread could not be started: no more tries. */
  private closed = false
  /** The file by absolute path, fixed at open: the thread opens it by name, whatever the working directory becomes. */
  private readonly file: string
  readonly stats: CheckpointStats = { started: false, checkpoints: 0, lastError: undefined }

  constructor(
    file: string,
    private readonly synchronous: 'NORMAL' | 'FULL',
  ) {
    this.file = absolutePath(file)
  }

  /** Call after each commit: counts it, and wakes (or first starts) the thread every `CHECKPOINT_EVERY`. */
  committed(): void {
    // A plain store (an Atomics call here measured ~2 µs a commit): the thread only needs to see the count move.
    this.state[COMMITS] = ++this.commits
    if (this.commits % CHECKPOINT_EVERY !== 0 || this.closed) return
    if (!this.worker) {
      this.start()
      return
    }
    Atomics.add(this.state, BELL, 1)
    Atomics.notify(this.state, BELL)
  }

  private start(): void {
    let worker: Worker
    try {
      worker = new Worker(SOURCE, {
        eval: true,
        workerData: {
          driver: createRequire(import.meta.url).resolve('better-sqlite3'),
          file: this.file,
          synchronous: this.synchronous,
          state: this.state.buffer,
        },
      })
    } catch (error) {
      // No thread (e.g. out of resources): the writer's own checkpoints go on, as before there was one.
      this.closed = true
      this.stats.lastError = `could not start the checkpoint thread: ${error instanceof Error ? error.message : String(error)}`
      return
    }
    worker.unref() // never keeps the process alive
    this.worker = worker
    this.stats.started = true
    worker.on('message', (message: { done?: boolean; error?: string; code?: string }) => {
      if (message.error !== undefined) this.stats.lastError = `${message.code}: ${message.error}`
      else this.stats.checkpoints++
    })
    this.exited = new Promise((resolve) => {
      worker.on('error', (error) => {
        this.stats.lastError = error instanceof Error ? error.message : String(error)
      })
      worker.on('exit', () => resolve())
    })
  }

  /** Stops the thread (it finishes a checkpoint in progress and closes its connection); resolves once it is gone. */
  close(): Promise<void> {
    this.closed = true
    if (!this.worker) return Promise.resolve()
    this.worker.ref() // unref'd, its exit would not keep the loop alive for whoever awaits this
    Atomics.store(this.state, STOP, 1)
    // Ring too: a thread busy checkpointing then waits on a bell that has moved, so it does not sleep IDLE_MS first.
    Atomics.add(this.state, BELL, 1)
    Atomics.notify(this.state, BELL)
    return this.exited!
  }
}
