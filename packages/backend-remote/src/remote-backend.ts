import {
  type Backend,
  type BackendCapabilities,
  BackendError,
  ForbiddenError,
  type ListQuery,
  QuotaExceededError,
  type ScopePath,
  type StoredEntry,
  type Usage,
  type WatchSink,
  type WatchSubscription,
  type WriteRequest,
  type WriteResult,
} from '@cubby/core/backend'
import type { Connection } from './connection.js'
import { isGetTooLarge } from './failures.js'
import { release } from './pool.js'
import { WatchHandler } from './watch-client.js'
import type { FrameReader, FrameWriter } from './wire/buffer.js'
import {
  type Hello,
  Op,
  readGetResult,
  readListResult,
  readWriteResult,
  type SessionInfo,
  writeListQuery,
  writeWrite,
} from './wire/protocol.js'

/**
 * A backend whose storage is a `@cubby/server`: one session (one token) over a shared connection. Core hands it
 * absolute paths; it sends them relative to the token's base (`[workspace, plugin]`, or `[]` for a root token), so
 * a path outside the token's context is refused here with `ForbiddenError` and never sent (the server refuses it
 * too: it builds every real path from the token).
 */
export class RemoteBackend implements Backend {
  readonly name = 'remote'
  readonly capabilities: BackendCapabilities
  /** The path core's scopes are relative to on the server: `[]` for a root token, else `[workspace, plugin]`. */
  private readonly base: readonly string[]
  private readonly relative = new WeakMap<ScopePath, string[]>()
  /** `JSON.stringify` of each relative path, naming it in the get batcher. */
  private readonly relKeys = new WeakMap<readonly string[], string>()
  private closed = false
  /** Calls not yet settled: `close()` lets them finish first. */
  private active = 0
  private drained: (() => void) | undefined

  constructor(
    private readonly connection: Connection,
    private readonly session: number,
    hello: Hello,
    /** What the server said about the token. */
    readonly info: SessionInfo,
  ) {
    this.capabilities = Object.freeze({
      ttl: hello.ttl,
      watch: hello.watch,
      quotas: hello.quotas,
      persistent: hello.persistent,
      minQuotaDepth: hello.minQuotaDepth,
      timeouts: true,
    })
    this.base = info.root ? [] : [info.workspace!, info.plugin!]
  }

  get(scope: ScopePath, keys: readonly string[], options: { values: boolean; now: number }) {
    if (keys.length === 1) return this.getOne(scope, keys[0]!, options)
    // Held across the whole GET, retries of its halves included, so `close()` waits for them.
    this.active++
    return this.getMany(scope, keys, options).finally(() => this.settled())
  }

  /**
   * One GET of `keys`. When the server refuses it because the answer would not fit in one frame, each half is asked
   * for again (reads are idempotent), down to single keys: only a key whose value alone cannot fit fails.
   */
  private getMany(
    scope: ScopePath,
    keys: readonly string[],
    options: { values: boolean; now: number },
  ): Promise<(StoredEntry | undefined)[]> {
    const w = this.begin(scope, Op.GET, 32 + keys.length * 24)
    if (w instanceof Error) return Promise.reject(w)
    w.u8(options.values ? 1 : 0).u32(keys.length)
    for (const key of keys) w.str(key)
    const got = this.call(w, false, (r) => readGetResult(r, keys, options.now))
    if (keys.length === 1) return got
    return got.catch(async (error: unknown) => {
      if (!isGetTooLarge(error)) throw error
      const half = keys.length >>> 1
      const [first, second] = await Promise.all([
        this.getMany(scope, keys.slice(0, half), options),
        this.getMany(scope, keys.slice(half), options),
      ])
      return first.concat(second)
    })
  }

  /** A single-key get: merged with the other gets of this burst into one GET frame (see `GetBatcher`). */
  private getOne(scope: ScopePath, key: string, options: { values: boolean; now: number }) {
    let rel: string[]
    try {
      rel = this.rel(scope)
    } catch (error) {
      return Promise.reject(error)
    }
    let relKey = this.relKeys.get(rel)
    if (relKey === undefined) {
      relKey = JSON.stringify(rel)
      this.relKeys.set(rel, relKey)
    }
    this.active++
    const got = this.connection.batcher.get(this.session, rel, relKey, key, options.values, options.now)
    return got.then(
      (entry) => {
        this.settled()
        return [entry]
      },
      (error: unknown) => {
        this.settled()
        throw error
      },
    )
  }

  write(request: WriteRequest): Promise<WriteResult> {
    const w = this.begin(request.scope, Op.WRITE)
    if (w instanceof Error) return Promise.reject(w)
    // Quota caps are the server's; a root session may add its own (relative to the base, like every path).
    writeWrite(w, request.checks, request.ops, this.info.root ? request.quotas : [], request.now)
    return this.call(w, true, readWriteResult)
  }

  list(scope: ScopePath, query: ListQuery): Promise<StoredEntry[]> {
    const w = this.begin(scope, Op.LIST)
    if (w instanceof Error) return Promise.reject(w)
    writeListQuery(w, query)
    return this.call(w, false, (r) => readListResult(r, query.now))
  }

  clear(scope: ScopePath): Promise<number> {
    const w = this.begin(scope, Op.CLEAR)
    if (w instanceof Error) return Promise.reject(w)
    return this.call(w, true, (r) => r.f64())
  }

  drop(scope: ScopePath): Promise<void> {
    const w = this.begin(scope, Op.DROP)
    if (w instanceof Error) return Promise.reject(w)
    return this.call(w, true, () => undefined)
  }

  scopes(scope: ScopePath, options: { after?: string; limit: number }): Promise<string[]> {
    const w = this.begin(scope, Op.SCOPES)
    if (w instanceof Error) return Promise.reject(w)
    w.u32(options.limit)
    if (options.after === undefined) w.u8(0)
    else w.u8(1).str(options.after)
    return this.call(w, false, (r) => {
      const names: string[] = []
      for (let n = r.u32(), i = 0; i < n; i++) names.push(r.str())
      return names
    })
  }

  usage(scope: ScopePath): Promise<Usage> {
    const w = this.begin(scope, Op.USAGE)
    if (w instanceof Error) return Promise.reject(w)
    return this.call(w, false, (r) => ({ keys: r.f64(), bytes: r.f64() }))
  }

  watch(scope: ScopePath, sink: WatchSink): WatchSubscription {
    let rel: string[]
    try {
      rel = this.rel(scope)
    } catch (error) {
      const ready = Promise.reject(error)
      ready.catch(() => {})
      return { ready, close: () => {} }
    }
    return new WatchHandler(this.connection, this.session, rel, sink)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    // Every call settles within timeoutMs on its own, so this wait is bounded.
    if (this.active > 0) await new Promise<void>((resolve) => (this.drained = resolve))
    this.connection.removeSession(this.session)
    release(this.connection)
  }

  /** A request frame for `scope` with its path written, or the `ForbiddenError` of a scope outside the context. */
  private begin(scope: ScopePath, op: number, size?: number): FrameWriter | Error {
    let rel: string[]
    try {
      rel = this.rel(scope)
    } catch (error) {
      return error as Error
    }
    return this.connection.begin(this.session, op, size).path(rel)
  }

  /**
   * Sends a request and decodes its answer. A quota error's scope is mapped back to the client's path; an answer
   * that does not decode is a `BackendError`.
   */
  private call<T>(w: FrameWriter, write: boolean, decode: (r: FrameReader) => T): Promise<T> {
    this.active++
    return this.connection.submit(w, write).then(
      (r) => {
        this.settled()
        try {
          return decode(r)
        } catch (error) {
          throw new BackendError(`unreadable answer from the server: ${(error as Error).message}`, { cause: error })
        }
      },
      (error: unknown) => {
        this.settled()
        throw this.mapError(error)
      },
    )
  }

  private settled(): void {
    if (--this.active === 0 && this.drained) this.drained()
  }

  private mapError(error: unknown): unknown {
    if (!(error instanceof QuotaExceededError) || this.base.length === 0) return error
    const mapped = new QuotaExceededError({
      scope: [...this.base, ...error.scope],
      dimension: error.dimension,
      limit: error.limit,
      used: error.used,
      requested: error.requested,
    })
    mapped.message = error.message
    return mapped
  }

  /** `scope` relative to the token's base, or `ForbiddenError` when it lies outside. Cached per path object. */
  private rel(scope: ScopePath): string[] {
    const cached = this.relative.get(scope)
    if (cached) return cached
    const base = this.base
    for (let i = 0; i < base.length; i++) {
      if (scope[i] !== base[i]) {
        throw new ForbiddenError(
          `scope ${JSON.stringify(scope)} is outside this token's context ${JSON.stringify(base)}; ` +
            "use the context's stores (cubby.run(tokenContext(token), fn) binds them)",
        )
      }
    }
    const rel = scope.slice(base.length)
    if (!this.info.root && rel[0] === '' && rel.length > 1 && rel[1] !== this.info.user) {
      throw new ForbiddenError(
        this.info.user === undefined
          ? 'this token names no user: user scopes are outside its context'
          : `user ${JSON.stringify(rel[1])} is not this token's user`,
      )
    }
    this.relative.set(scope, rel)
    return rel
  }
}
