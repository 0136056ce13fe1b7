import type { ChangeEvent, WatchSubscription } from '../backend/contract.js'
import { asCubbyError } from '../backend-failure.js'
import { InvalidConfigError, UnsupportedError, WatchOverflowError } from '../errors.js'
import { checkInteger } from '../limits.js'
import type { Watch, WatchFilter, WatchOptions } from '../types.js'
import type { ScopeContext } from './context.js'
import { checkBound } from './listing.js'

const DEFAULT_MAX_BUFFERED = 10_000

type Waiter = { resolve: (result: IteratorResult<ChangeEvent>) => void; reject: (error: Error) => void }

/**
 * An async iterable over a scope's change events. Events are buffered (never blocking writers) up to
 * `maxBuffered`; past that the watch ends with `WatchOverflowError`. Invalid options or a closed cubby reject
 * `ready` and the first `next()`.
 */
export class ScopeWatch implements Watch {
  readonly ready: Promise<void>
  private readonly buffer: ChangeEvent[] = []
  private head = 0
  private waiter: Waiter | undefined
  private failure: Error | undefined
  private done = false
  #subscription: WatchSubscription | undefined
  private matches: (key: string) => boolean = () => true
  private maxBuffered = DEFAULT_MAX_BUFFERED
  /** True private fields: plugin code holding a watch cannot reach the engine, backend or subscription behind it. */
  readonly #scope: ScopeContext
  private readonly onAbort = () => this.close()
  private signal: AbortSignal | undefined

  constructor(scope: ScopeContext, filter?: WatchFilter, options?: WatchOptions) {
    this.#scope = scope
    try {
      this.start(filter, options)
      const subscription = this.#subscription!
      // A backend that does not bound its own waits gets `timeoutMs` to start observing.
      const ready = scope.engine.bound(Promise.resolve(subscription.ready), 'starting the watch')
      this.ready = ready.catch((error: unknown) => {
        const failure = asCubbyError(error, 'watch')
        this.fail(failure)
        throw failure
      })
    } catch (error) {
      const failure = asCubbyError(error, 'watch')
      this.fail(failure)
      this.ready = Promise.reject(failure)
    }
    this.ready.catch(() => {}) // the error also reaches next(); an unawaited ready must not crash the process
  }

  private start(filter: WatchFilter | undefined, options: WatchOptions | undefined): void {
    const scope = this.#scope
    const f = scope.options('watch', filter, ['prefix', 'keys'], 'filter')
    const o = scope.options('watch', options, ['signal', 'maxBuffered'])
    scope.engine.assertOpen()
    if (!scope.engine.backend.capabilities.watch) {
      throw new UnsupportedError(`the ${scope.engine.backend.name} backend does not support watch`)
    }
    const prefix = checkBound(scope, 'watch.prefix', f.prefix)
    let keys: Set<string> | undefined
    if (f.keys !== undefined) {
      if (!Array.isArray(f.keys)) throw new InvalidConfigError('watch.keys', 'must be an array of keys')
      keys = new Set(f.keys.map((key) => scope.key(key)))
    }
    if (prefix || keys) this.matches = (key) => (!prefix || key.startsWith(prefix)) && (!keys || keys.has(key))
    if (o.maxBuffered !== undefined) this.maxBuffered = checkInteger('watch.maxBuffered', o.maxBuffered, 1)
    if (o.signal !== undefined) {
      if (!(o.signal instanceof AbortSignal)) throw new InvalidConfigError('watch.signal', 'must be an AbortSignal')
      if (o.signal.aborted) {
        this.done = true
        this.#subscription = { ready: Promise.resolve(), close() {} }
        return
      }
      this.signal = o.signal
      o.signal.addEventListener('abort', this.onAbort, { once: true })
    }
    const subscription = scope.engine.backend.watch(scope.path, {
      event: (event) => this.push(event),
      error: (error) => this.fail(asCubbyError(error, 'watch')),
    })
    if (typeof subscription !== 'object' || subscription === null || typeof subscription.close !== 'function') {
      throw new InvalidConfigError(
        'backend',
        `the ${scope.engine.backend.name} backend's watch() returned no subscription`,
      )
    }
    this.#subscription = subscription
    if (this.done) {
      // The backend reported an error before watch() returned: finish() could not close the subscription then.
      subscription.close()
      return
    }
    scope.engine.watches.add(this)
  }

  private push(event: ChangeEvent): void {
    if (this.done || !this.matches(event.key)) return
    if (this.waiter) {
      const waiter = this.waiter
      this.waiter = undefined
      waiter.resolve({ value: event, done: false })
      return
    }
    if (this.buffer.length - this.head >= this.maxBuffered) {
      this.fail(new WatchOverflowError(this.maxBuffered))
      return
    }
    this.buffer.push(event)
  }

  private fail(error: Error): void {
    if (this.done) return
    this.failure = error
    this.finish()
  }

  private finish(): void {
    if (this.done) return
    this.done = true
    this.#subscription?.close()
    this.#scope.engine.watches.delete(this)
    this.signal?.removeEventListener('abort', this.onAbort)
    const waiter = this.waiter
    this.waiter = undefined
    if (!waiter) return
    if (this.failure) {
      const failure = this.failure
      this.failure = undefined
      waiter.reject(failure)
    } else waiter.resolve({ value: undefined, done: true })
  }

  close(): void {
    this.buffer.length = 0
    this.head = 0
    this.finish()
  }

  next(): Promise<IteratorResult<ChangeEvent>> {
    if (this.head < this.buffer.length) {
      const value = this.buffer[this.head++]!
      if (this.head > 1024 && this.head * 2 > this.buffer.length) {
        this.buffer.splice(0, this.head)
        this.head = 0
      }
      return Promise.resolve({ value, done: false })
    }
    if (this.failure) {
      const failure = this.failure
      this.failure = undefined
      return Promise.reject(failure)
    }
    if (this.done) return Promise.resolve({ value: undefined, done: true })
    if (this.waiter)
      return Promise.reject(new InvalidConfigError('watch', 'next() called again before the previous call settled'))
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject }
    })
  }

  return(): Promise<IteratorResult<ChangeEvent>> {
    this.close()
    return Promise.resolve({ value: undefined, done: true })
  }

  [Symbol.asyncIterator](): AsyncIterator<ChangeEvent> {
    return this
  }
}
