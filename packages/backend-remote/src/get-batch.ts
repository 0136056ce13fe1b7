import { BackendError, type StoredEntry } from '@cubby/core/backend'
import { isGetTooLarge } from './failures.js'
import type { FrameReader, FrameWriter } from './wire/buffer.js'
import { Op, readEntry } from './wire/protocol.js'

/** Most single-key gets merged into one GET frame (fewer keep answers flowing back while later frames are built). */
const MAX_MERGED = 128

/** One caller's get in a batch. */
interface Waiter {
  key: string
  now: number
  resolve: (entry: StoredEntry | undefined) => void
  reject: (error: unknown) => void
}

/** Gets of one session, scope and `values` flag, sent as one GET. */
interface Batch {
  session: number
  rel: readonly string[]
  values: boolean
  waiters: Waiter[]
}

/** What the batcher needs from its connection. */
export interface BatchSink {
  begin(session: number, op: number, size?: number): FrameWriter
  submit(w: FrameWriter, write: boolean): Promise<FrameReader>
  /** The server's `maxBatchSize` (keys per GET), once connected. */
  readonly maxKeys: number | undefined
}

/**
 * Merges single-key gets issued together (in one burst of microtasks, such as a `Promise.all` of gets) into GET
 * frames of up to 128 keys: the protocol's GET already takes many keys, and one frame and one answer for many
 * reads costs both sides far less than one each. A merged GET the server refuses as too large for one frame is
 * split in halves and asked again, so each caller whose value fits alone gets it. Every other request flushes the pending gets first (`flush`), so
 * frames still leave in the order the calls were made: a get issued before a write is read before it.
 */
export class GetBatcher {
  private readonly batches = new Map<string, Batch>()
  private scheduled = false
  private readonly flushAll = () => {
    this.scheduled = false
    this.flush()
  }

  constructor(private readonly sink: BatchSink) {}

  /** Whether gets wait to be sent. */
  get pending(): boolean {
    return this.batches.size > 0
  }

  /** Queues a get of `key` in the scope `rel` (relative to the session's base; `relKey` names it). */
  get(
    session: number,
    rel: readonly string[],
    relKey: string,
    key: string,
    values: boolean,
    now: number,
  ): Promise<StoredEntry | undefined> {
    return new Promise((resolve, reject) => {
      const id = `${session}:${values ? 1 : 0}:${relKey}`
      let batch = this.batches.get(id)
      if (batch === undefined) {
        batch = { session, rel, values, waiters: [] }
        this.batches.set(id, batch)
      }
      batch.waiters.push({ key, now, resolve, reject })
      if (batch.waiters.length >= Math.min(MAX_MERGED, this.sink.maxKeys ?? MAX_MERGED)) {
        this.batches.delete(id)
        this.send(batch)
      } else if (!this.scheduled) {
        this.scheduled = true
        queueMicrotask(this.flushAll)
      }
    })
  }

  /** Sends every pending batch now. */
  flush(): void {
    if (this.batches.size === 0) return
    const batches = [...this.batches.values()]
    this.batches.clear()
    for (const batch of batches) this.send(batch)
  }

  private send(batch: Batch): void {
    const { waiters } = batch
    const w = this.sink.begin(batch.session, Op.GET, 32 + waiters.length * 24).path(batch.rel)
    w.u8(batch.values ? 1 : 0).u32(waiters.length)
    for (const waiter of waiters) w.str(waiter.key)
    this.sink.submit(w, false).then(
      (r) => {
        let entries: (StoredEntry | undefined)[]
        try {
          if (r.u32() !== waiters.length) throw new Error('GET result has the wrong number of entries')
          entries = waiters.map((waiter) => (r.u8() === 1 ? readEntry(r, waiter.key, waiter.now) : undefined))
        } catch (error) {
          const failure = new BackendError(`unreadable answer from the server: ${(error as Error).message}`)
          for (const waiter of waiters) waiter.reject(failure)
          return
        }
        for (let i = 0; i < waiters.length; i++) waiters[i]!.resolve(entries[i])
      },
      (error: unknown) => {
        // A refused key fails the whole GET: ask again one by one, so only its own caller gets the error.
        if (waiters.length > 1 && (error as { code?: string }).code === 'INVALID_KEY') {
          for (const waiter of waiters) this.send({ ...batch, waiters: [waiter] })
          return
        }
        // The merged answer would not fit in one of the server's frames: ask for each half (a key whose value alone
        // cannot fit ends with the server's error, for its caller only).
        if (waiters.length > 1 && isGetTooLarge(error)) {
          const half = waiters.length >>> 1
          this.send({ ...batch, waiters: waiters.slice(0, half) })
          this.send({ ...batch, waiters: waiters.slice(half) })
          return
        }
        for (const waiter of waiters) waiter.reject(error)
      },
    )
  }
}
