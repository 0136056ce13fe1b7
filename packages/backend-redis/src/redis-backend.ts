import type {
  Backend,
  BackendCapabilities,
  ListQuery,
  ScopePath,
  StoredEntry,
  Usage,
  WatchSink,
  WatchSubscription,
  WriteRequest,
  WriteResult,
} from '@cubby/core/backend'
import { type Connection, connect, redisError } from './connection.js'
import { Feed } from './feed.js'
import { GROUP_DEPTH, scopeKeys } from './keys.js'
import type { ResolvedOptions } from './options.js'
import { Reader } from './reader.js'
import { Sweeper } from './sweeper.js'
import { Tree } from './tree.js'
import { Writer } from './writer.js'

/**
 * The Redis backend, for one server or a cluster: Lua scripts make each write atomic in its group's slot, reads
 * are coalesced MGETs and paged ZRANGEBYLEX scans of per-scope indexes, and watch rides on sharded pub/sub.
 */
export class RedisBackend implements Backend {
  readonly name = 'redis'
  readonly capabilities: BackendCapabilities = Object.freeze({
    ttl: true,
    watch: true,
    quotas: true,
    persistent: true,
    // A write and its quota check are one script in one slot: the slot of the [workspace, plugin] subtree.
    minQuotaDepth: GROUP_DEPTH,
    // The driver's timeout does not cover commands already sent to a stalled server; core's deadline does.
    timeouts: false,
  })
  private readonly reader: Reader
  private readonly writer: Writer
  private readonly sweeper: Sweeper
  private readonly tree: Tree
  private readonly feed: Feed
  private closing: Promise<void> | undefined
  /** Calls in progress, so close() lets them settle before it disconnects. */
  private readonly calls = new Set<Promise<unknown>>()

  private constructor(
    private readonly connection: Connection,
    private readonly options: ResolvedOptions,
    clock: () => number,
    timeoutMs: number,
  ) {
    const fail = (error: unknown) => redisError(error, options.where)
    this.reader = new Reader(connection, options.prefix, fail)
    this.writer = new Writer(connection, options.prefix, options.expiryGraceMs, fail)
    this.sweeper = new Sweeper(connection, options.prefix)
    this.tree = new Tree(connection, options.prefix, this.sweeper)
    this.feed = new Feed(connection, options.prefix, fail, timeoutMs)
    this.sweeper.start(options.sweepIntervalMs, clock)
  }

  /** Connects and returns a backend; fails with `BackendError` if no connection comes up in time. */
  static async open(options: ResolvedOptions, clock: () => number, timeoutMs: number): Promise<RedisBackend> {
    try {
      return new RedisBackend(await connect(options), options, clock, timeoutMs)
    } catch (error) {
      throw redisError(error, options.where)
    }
  }

  get(scope: ScopePath, keys: readonly string[], options: { values: boolean; now: number }) {
    return this.track(this.reader.get(scope, keys, options))
  }

  write(request: WriteRequest): Promise<WriteResult> {
    return this.track(
      (async () => {
        await this.guard(async () => {
          await this.tree.register(request.scope)
          const expiries = request.ops
            .map((op) => (op.type === 'delete' ? undefined : op.expiresAt))
            .filter((at) => at !== undefined)
          if (expiries.length > 0)
            await this.sweeper.register(scopeKeys(this.options.prefix, request.scope), Math.min(...expiries))
        })
        return this.writer.write(request)
      })(),
    )
  }

  list(scope: ScopePath, query: ListQuery): Promise<StoredEntry[]> {
    return this.guard(() => this.reader.list(scope, query))
  }

  clear(scope: ScopePath, now: number): Promise<number> {
    return this.guard(() => this.tree.clear(scope, now))
  }

  drop(scope: ScopePath, now: number): Promise<void> {
    return this.guard(() => this.tree.drop(scope, now))
  }

  scopes(scope: ScopePath, options: { after?: string; limit: number; now: number }): Promise<string[]> {
    return this.guard(() => this.tree.scopes(scope, options.after, options.limit, options.now))
  }

  usage(scope: ScopePath, now: number): Promise<Usage> {
    return this.guard(() => this.tree.usage(scope, now))
  }

  watch(scope: ScopePath, sink: WatchSink): WatchSubscription {
    return this.feed.subscribe(scope, sink)
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.sweeper.stop()
      while (this.calls.size > 0) await Promise.allSettled([...this.calls]) // calls in flight settle first
      await this.writer.drain()
      await this.connection.close()
    })()
    return this.closing
  }

  private track<T>(call: Promise<T>): Promise<T> {
    this.calls.add(call)
    void call.then(
      () => this.calls.delete(call),
      () => this.calls.delete(call),
    )
    return call
  }

  /** Runs driver calls, turning their failures into `BackendError`s that say what to do. */
  private guard<T>(run: () => Promise<T>): Promise<T> {
    return this.track(
      run().catch((error: unknown) => {
        throw redisError(error, this.options.where)
      }),
    )
  }
}
