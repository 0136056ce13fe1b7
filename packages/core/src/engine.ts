import type { Backend } from './backend/contract.js'
import type { Codec } from './codec/codec.js'
import { asCubbyError, BackendError, ClosedError } from './errors.js'
import type { Limits } from './limits.js'
import type { Quotas } from './quotas.js'

/** A backend call in flight, failed by the ticker once its deadline passes. */
interface Pending {
  deadline: number
  fail: (error: Error) => void
}

/** Something to end when the cubby closes (a watch). */
export interface Closeable {
  close(): void
}

/**
 * What every view of one cubby shares: the backend, codec, limits and clock, and the guard around backend calls
 * (closed check, timeout, error mapping).
 * @internal
 */
export class Engine {
  private closing: Promise<void> | undefined
  private inFlight = 0
  private idle: (() => void) | undefined
  private readonly pending = new Set<Pending>()
  private ticker: NodeJS.Timeout | undefined
  readonly watches = new Set<Closeable>()

  constructor(
    readonly backend: Backend,
    readonly codec: Codec,
    readonly limits: Limits,
    readonly quotas: Quotas,
    readonly clock: () => number,
    readonly timeoutMs: number,
  ) {}

  get closed(): boolean {
    return this.closing !== undefined
  }

  /** Throws `ClosedError` once the cubby is closed. */
  assertOpen(): void {
    if (this.closing) throw new ClosedError()
  }

  /**
   * Runs a backend call: rejects with `ClosedError` after close, with `BackendError` when it takes longer than
   * `timeoutMs`, and maps non-Cubby errors to `BackendError`.
   */
  call<T>(action: string, run: () => Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(new ClosedError())
    let promise: Promise<T>
    try {
      promise = run()
    } catch (error) {
      return Promise.reject(asCubbyError(error, action))
    }
    this.inFlight++
    // One promise per call: settles with the backend's result, or is failed by the shared ticker on timeout.
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = { deadline: Date.now() + this.timeoutMs, fail: reject }
      this.pending.add(entry)
      if (!this.ticker) this.startTicker()
      promise.then(
        (value) => {
          this.settle(entry)
          resolve(value)
        },
        (error: unknown) => {
          this.settle(entry)
          reject(asCubbyError(error, action))
        },
      )
    })
  }

  private settle(entry: Pending): void {
    this.pending.delete(entry)
    if (--this.inFlight === 0) this.idle?.()
  }

  /** One timer for all calls: cheaper than a timer per call. It runs only while calls are pending. */
  private startTicker(): void {
    if (this.ticker) return
    const period = Math.max(10, Math.min(1000, Math.floor(this.timeoutMs / 10)))
    this.ticker = setInterval(() => {
      const now = Date.now()
      for (const entry of this.pending) {
        if (entry.deadline <= now) {
          this.pending.delete(entry)
          entry.fail(
            new BackendError(
              `the ${this.backend.name} backend did not answer within ${this.timeoutMs} ms (timeoutMs); ` +
                'the outcome of a write is unknown: read before retrying',
            ),
          )
        }
      }
      if (this.pending.size === 0) {
        clearInterval(this.ticker)
        this.ticker = undefined
      }
    }, period)
    this.ticker.unref()
  }

  /** Ends watches, waits for calls in flight (bounded by the timeout), then closes the backend. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const watch of [...this.watches]) watch.close()
      if (this.inFlight > 0) {
        await new Promise<void>((resolve) => {
          this.idle = resolve
          setTimeout(resolve, this.timeoutMs).unref()
        })
      }
      if (this.ticker) clearInterval(this.ticker)
      try {
        await this.backend.close()
      } catch (error) {
        throw asCubbyError(error, 'close')
      }
    })()
    return this.closing
  }
}
