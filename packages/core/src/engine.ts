import type { Backend } from './backend/contract.js'
import type { Codec } from './codec/codec.js'
import { asCubbyError, BackendError, ClosedError } from './errors.js'
import type { Limits } from './limits.js'
import type { Quotas } from './quotas.js'

/** Something to end when the cubby closes (a watch). */
export interface Closeable {
  close(): void
}

/**
 * What every view of one cubby shares: the backend, codec, limits and clock, and the guard around backend calls
 * (closed check, error mapping, and a timeout for backends that do not bound their calls themselves).
 * @internal
 */
export class Engine {
  private closing: Promise<void> | undefined
  private readonly watchdog: Watchdog | undefined
  readonly watches = new Set<Closeable>()
  /** Maps anything a backend rejects with to a `CubbyError`. One shared function: no allocation per call. */
  private readonly mapError = (error: unknown): never => {
    throw asCubbyError(error, `the ${this.backend.name} backend`)
  }

  constructor(
    readonly backend: Backend,
    readonly codec: Codec,
    readonly limits: Limits,
    readonly quotas: Quotas,
    readonly clock: () => number,
    readonly timeoutMs: number,
  ) {
    if (!backend.capabilities.timeouts) this.watchdog = new Watchdog(backend.name, timeoutMs)
  }

  get closed(): boolean {
    return this.closing !== undefined
  }

  /** Throws `ClosedError` once the cubby is closed. */
  assertOpen(): void {
    if (this.closing) throw new ClosedError()
  }

  /** Runs a backend call: `ClosedError` after close; non-Cubby errors become `BackendError`; bounded in time. */
  call<T>(run: () => Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(new ClosedError())
    let promise: Promise<T>
    try {
      promise = run()
    } catch (error) {
      return Promise.reject(asCubbyError(error, `the ${this.backend.name} backend`))
    }
    if (this.watchdog) promise = this.watchdog.watch(promise)
    return promise.catch(this.mapError)
  }

  /** Ends watches and closes the backend, which lets calls in flight settle first. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const watch of [...this.watches]) watch.close()
      try {
        await this.backend.close()
      } catch (error) {
        throw asCubbyError(error, `closing the ${this.backend.name} backend`)
      } finally {
        this.watchdog?.stop()
      }
    })()
    return this.closing
  }
}

/** A call in flight, failed by the ticker once its deadline passes. */
interface Pending {
  deadline: number
  fail: (error: Error) => void
}

/** Times out calls of backends that do not bound them themselves, with one timer for all calls. */
class Watchdog {
  private readonly pending = new Set<Pending>()
  private ticker: NodeJS.Timeout | undefined

  constructor(
    private readonly name: string,
    private readonly timeoutMs: number,
  ) {}

  watch<T>(promise: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = { deadline: Date.now() + this.timeoutMs, fail: reject }
      this.pending.add(entry)
      this.start()
      promise.then(
        (value) => {
          this.pending.delete(entry)
          resolve(value)
        },
        (error: unknown) => {
          this.pending.delete(entry)
          reject(error)
        },
      )
    })
  }

  private start(): void {
    if (this.ticker) return
    const period = Math.max(10, Math.min(1000, Math.floor(this.timeoutMs / 10)))
    this.ticker = setInterval(() => {
      const now = Date.now()
      for (const entry of this.pending) {
        if (entry.deadline > now) continue
        this.pending.delete(entry)
        entry.fail(
          new BackendError(
            `the ${this.name} backend did not answer within ${this.timeoutMs} ms (timeoutMs); ` +
              'the outcome of a write is unknown: read before retrying',
          ),
        )
      }
      if (this.pending.size === 0) this.stop()
    }, period)
    this.ticker.unref()
  }

  stop(): void {
    clearInterval(this.ticker)
    this.ticker = undefined
  }
}
