import type { Backend, ScopePath, StoredEntry, WriteRequest, WriteResult } from './backend/contract.js'
import { Deadlines } from './backend/deadlines.js'
import { asCubbyError } from './backend-failure.js'
import type { Codec } from './codec/codec.js'
import { BackendError, ClosedError } from './errors.js'
import type { Limits } from './limits.js'
import type { Quotas } from './quotas.js'
import { ChildContexts } from './store/context-cache.js'

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
  /** Contexts of views' `scope(segment)` children, made once per parent and name. */
  readonly scopeChildren = new ChildContexts()
  /** Contexts of views' `user(id)` children, made once per plugin scope and user. */
  readonly userChildren = new ChildContexts()
  /** Maps anything a backend rejects with to a `CubbyError`. One shared function: no allocation per call. */
  private readonly mapError = (error: unknown): never => {
    throw asCubbyError(error, `the ${this.backend.name} backend`)
  }

  constructor(
    readonly backend: Backend,
    readonly codec: Codec,
    readonly limits: Readonly<Limits>,
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

  /**
   * Runs a backend call: `ClosedError` after close; non-Cubby errors become `BackendError`; `BackendError` after `timeoutMs`. A
   * backend method that returns a plain value instead of a promise is tolerated.
   */
  call<T>(run: () => Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(new ClosedError())
    let promise: Promise<T>
    try {
      promise = Promise.resolve(run())
    } catch (error) {
      return Promise.reject(asCubbyError(error, `the ${this.backend.name} backend`))
    }
    if (this.watchdog) promise = this.watchdog.watch(promise)
    return promise.catch(this.mapError)
  }

  /**
   * `call(() => backend.write(request))` for the hot paths, settled through `onResult`: no closure per call, and one
   * promise after the backend's instead of two (`onResult`'s own throws are not mapped, as after an `await`).
   */
  write<R>(request: WriteRequest, onResult: (result: WriteResult) => R): Promise<R> {
    if (this.closing) return Promise.reject(new ClosedError())
    let promise: Promise<WriteResult>
    try {
      promise = Promise.resolve(this.backend.write(request))
    } catch (error) {
      return Promise.reject(asCubbyError(error, `the ${this.backend.name} backend`))
    }
    if (this.watchdog) promise = this.watchdog.watch(promise)
    return promise.then(onResult, this.mapError)
  }

  /** `call(() => backend.get(scope, keys, options))` for the hot paths, settled through `onRows` (as `write`). */
  read<R>(
    scope: ScopePath,
    keys: readonly string[],
    options: { values: boolean; now: number },
    onRows: (rows: (StoredEntry | undefined)[]) => R,
  ): Promise<R> {
    if (this.closing) return Promise.reject(new ClosedError())
    let promise: Promise<(StoredEntry | undefined)[]>
    try {
      promise = Promise.resolve(this.backend.get(scope, keys, options))
    } catch (error) {
      return Promise.reject(asCubbyError(error, `the ${this.backend.name} backend`))
    }
    if (this.watchdog) promise = this.watchdog.watch(promise)
    return promise.then(onRows, this.mapError)
  }

  /** The decoded value of the first row, or undefined: what a `get` without fallback resolves to. */
  readonly firstValue = (rows: (StoredEntry | undefined)[]): unknown => {
    const row = rows[0]
    return row ? this.codec.decode(row.value!) : undefined
  }

  /** The decoded values of all rows (undefined where absent): what `getMany` resolves to. */
  readonly allValues = (rows: (StoredEntry | undefined)[]): unknown[] => {
    const out: unknown[] = []
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]
      out.push(row ? this.codec.decode(row.value!) : undefined)
    }
    return out
  }

  /**
   * Bounds a wait on the backend that is not a data call (a watch getting ready) by `timeoutMs`, when the backend
   * does not bound its waits itself (`capabilities.timeouts: false`). `what` completes "the … backend did not …".
   */
  bound<T>(promise: Promise<T>, what: string): Promise<T> {
    return this.watchdog ? this.watchdog.watch(promise, what) : promise
  }

  /** Ends watches and closes the backend, which lets calls in flight settle first. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const watch of [...this.watches]) watch.close()
      try {
        await this.bound(
          Promise.resolve().then(() => this.backend.close()),
          'closing',
        )
      } catch (error) {
        throw asCubbyError(error, `closing the ${this.backend.name} backend`)
      }
      // The watchdog keeps failing calls that are still pending, and stops by itself once none are left.
    })()
    return this.closing
  }
}

/**
 * Settles like `promise`, or rejects with `BackendError(message)` after `ms` milliseconds. A value that arrives after
 * the deadline is handed to `late` (e.g. to close a backend nobody will use).
 */
export function withDeadline<T>(
  promise: Promise<T>,
  ms: number,
  message: string,
  late?: (value: T) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let expired = false
    const timer = setTimeout(() => {
      expired = true
      reject(new BackendError(message))
    }, ms)
    promise.then(
      (value) => {
        if (expired) late?.(value)
        else {
          clearTimeout(timer)
          resolve(value)
        }
      },
      (error: unknown) => {
        if (expired) return
        clearTimeout(timer)
        reject(error)
      },
    )
  })
}

/** Times out calls of backends that do not bound them themselves, on the shared `Deadlines` ticker. */
class Watchdog {
  private readonly deadlines: Deadlines

  constructor(
    private readonly name: string,
    private readonly timeoutMs: number,
  ) {
    this.deadlines = new Deadlines(timeoutMs)
  }

  /** Settles like `promise`, or fails with `BackendError` once `timeoutMs` passed; `what` names the wait. */
  watch<T>(promise: Promise<T>, what?: string): Promise<T> {
    return this.deadlines.bound(
      promise,
      () =>
        new BackendError(
          what === undefined
            ? `the ${this.name} backend did not answer within ${this.timeoutMs} ms (timeoutMs); ` +
                'the outcome of a write is unknown: read before retrying'
            : `the ${this.name} backend did not finish ${what} within ${this.timeoutMs} ms (timeoutMs)`,
        ),
    )
  }
}
