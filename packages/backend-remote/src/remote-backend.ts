import {
  type Backend,
  type BackendCapabilities,
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
import { release } from './pool.js'
import { WatchHandler } from './watch-client.js'
import type { FrameReader } from './wire/buffer.js'
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
  private closed = false
  /** Calls not yet settled: `close()` lets them finish first. */
  private readonly inFlight = new Set<Promise<unknown>>()

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
    return this.call(scope, Op.GET, false, (w, rel) => {
      w.path(rel)
        .u8(options.values ? 1 : 0)
        .u32(keys.length)
      for (const key of keys) w.str(key)
    }).then((r) => readGetResult(r, keys, options.now))
  }

  write(request: WriteRequest): Promise<WriteResult> {
    // Quota caps are the server's; a root session may add its own (relative to the base, like every path).
    const quotas = this.info.root ? request.quotas : []
    return this.call(request.scope, Op.WRITE, true, (w, rel) => {
      w.path(rel)
      writeWrite(w, request.checks, request.ops, quotas, request.now)
    }).then(readWriteResult)
  }

  list(scope: ScopePath, query: ListQuery): Promise<StoredEntry[]> {
    return this.call(scope, Op.LIST, false, (w, rel) => {
      w.path(rel)
      writeListQuery(w, query)
    }).then((r) => readListResult(r, query.now))
  }

  clear(scope: ScopePath): Promise<number> {
    return this.call(scope, Op.CLEAR, true, (w, rel) => w.path(rel)).then((r) => r.f64())
  }

  drop(scope: ScopePath): Promise<void> {
    return this.call(scope, Op.DROP, true, (w, rel) => w.path(rel)).then(() => undefined)
  }

  scopes(scope: ScopePath, options: { after?: string; limit: number }): Promise<string[]> {
    return this.call(scope, Op.SCOPES, false, (w, rel) => {
      w.path(rel).u32(options.limit)
      if (options.after === undefined) w.u8(0)
      else w.u8(1).str(options.after)
    }).then((r) => {
      const names: string[] = []
      for (let n = r.u32(), i = 0; i < n; i++) names.push(r.str())
      return names
    })
  }

  usage(scope: ScopePath): Promise<Usage> {
    return this.call(scope, Op.USAGE, false, (w, rel) => w.path(rel)).then((r) => ({ keys: r.f64(), bytes: r.f64() }))
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
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight])
    this.connection.removeSession(this.session)
    release(this.connection)
  }

  /** Sends one request for `scope`; maps a quota error's scope back to the client's path. */
  private call(
    scope: ScopePath,
    op: number,
    write: boolean,
    body: (w: import('./wire/buffer.js').FrameWriter, rel: string[]) => void,
  ): Promise<FrameReader> {
    let rel: string[]
    try {
      rel = this.rel(scope)
    } catch (error) {
      return Promise.reject(error)
    }
    const call = this.connection.request(this.session, op, (w) => body(w, rel), write)
    this.inFlight.add(call)
    const settled = () => this.inFlight.delete(call)
    call.then(settled, settled)
    return call.catch((error: unknown) => {
      if (error instanceof QuotaExceededError && this.base.length > 0) {
        const mapped = new QuotaExceededError({
          scope: [...this.base, ...error.scope],
          dimension: error.dimension,
          limit: error.limit,
          used: error.used,
          requested: error.requested,
        })
        mapped.message = error.message
        throw mapped
      }
      throw error
    })
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
