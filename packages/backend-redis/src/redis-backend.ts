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
import { Deadlines } from '@cubby/core/backend'
import { checkServer } from './checks.js'
import { connectCluster } from './cluster.js'
import { bounded, type Connection, connectServer } from './connection.js'
import { redisError, timeoutError } from './errors.js'
import { Feed } from './feed.js'
import { GROUP_DEPTH, scopeKeys } from './keys.js'
import { ensureLayout, type LayoutReport, type MigrationHooks } from './layout.js'
import type { ResolvedOptions } from './options.js'
import { Reader } from './reader.js'
import { Registry } from './registry.js'
import { loadLibrary, type Scripts, scripts } from './scripts.js'
import { Sweeper } from './sweeper.js'
import { Tree } from './tree.js'
import { Writer } from './writer.js'

/** Options for tests, not part of the public API (offered by `@cubby/backend-redis/testing`). */
export interface InternalOptions {
  /** Run scripts that fail on any key they touch without declaring it. */
  checkKeys?: boolean
  /** Hooks into the layout migration at open. */
  migration?: MigrationHooks
}

/** The private constructor, for `openRedis` (set by the class's static block). */
let construct: (
  connection: Connection,
  options: ResolvedOptions,
  clock: () => number,
  timeoutMs: number,
  scripts: Scripts,
) => RedisBackend

/** What each backend's open did about the stored layout (read by tests through `/testing`). */
export const layoutReports = new WeakMap<RedisBackend, LayoutReport>()

/**
 * The Redis backend, for one server or a cluster: Lua scripts make each write atomic in its group's slot, reads are
 * coalesced MGETs and paged ZRANGEBYLEX reads of per-scope indexes, and watch rides on sharded pub/sub.
 */
export class RedisBackend implements Backend {
  readonly name = 'redis'
  readonly capabilities: BackendCapabilities
  private readonly deadlines: Deadlines
  private readonly reader: Reader
  private readonly writer: Writer
  private readonly sweeper: Sweeper
  private readonly tree: Tree
  private readonly feed: Feed
  private closing: Promise<void> | undefined
  /** Calls other than get/write in progress, so close() lets them settle before it disconnects. */
  private readonly calls = new Set<Promise<unknown>>()
  private readonly fail: (error: unknown) => Error

  private constructor(
    private readonly connection: Connection,
    private readonly options: ResolvedOptions,
    clock: () => number,
    timeoutMs: number,
    scripts: Scripts,
  ) {
    const standalone = !connection.cluster
    this.capabilities = Object.freeze({
      ttl: true,
      watch: true,
      quotas: true,
      persistent: true,
      // One server runs a script over any keys; a cluster only within one slot: the [workspace, plugin] subtree's.
      minQuotaDepth: standalone ? 0 : GROUP_DEPTH,
      // Every call, watch start and close() settles within min(commandTimeoutMs, timeoutMs) on its own.
      timeouts: true,
    })
    const { prefix, where } = options
    this.fail = (error) => redisError(error, where)
    this.deadlines = new Deadlines(Math.min(options.commandTimeoutMs, timeoutMs))
    // A watched scope's sequence counter outlives quiet spells of many heartbeats, then expires with no watcher.
    const seqTtlMs = Math.max(600_000, 20 * options.heartbeatMs)
    const base = { connection, scripts, prefix }
    this.sweeper = new Sweeper(connection, scripts, prefix, standalone)
    const registry = standalone ? undefined : new Registry(connection, scripts, prefix)
    this.reader = new Reader(connection, scripts, this.deadlines, prefix, where, this.fail)
    this.writer = new Writer({
      ...base,
      deadlines: this.deadlines,
      context: { prefix, standalone, graceMs: options.expiryGraceMs, seqTtlMs },
      where,
      fail: this.fail,
      register: (scope) => registry!.register(scope.path),
      read: (request, keys) => this.reader.get(request.scope, keys, { values: true, now: request.now }),
      reclaim: (request) => {
        const top = request.quotas.reduce((a, b) => (b.scope.length < a.length ? b.scope : a), request.scope)
        return this.sweeper.sweepScope(scopeKeys(prefix, top), request.now)
      },
    })
    this.tree = new Tree({ ...base, sweeper: this.sweeper, registry, seqTtlMs })
    this.feed = new Feed({
      ...base,
      deadlines: this.deadlines,
      heartbeatMs: options.heartbeatMs,
      seqTtlMs,
      fail: this.fail,
    })
    this.sweeper.start(options.sweepIntervalMs, clock)
  }

  /**
   * Connects, checks the server (Redis >= 7, credentials, eviction policy), migrates a store written before the user
   * level (README, "Layout migration") and returns a backend; fails with `BackendError` (or `InvalidConfigError`
   * for an unsuitable server) if that does not work out in time.
   */
  static open(options: ResolvedOptions, clock: () => number, timeoutMs: number): Promise<RedisBackend> {
    return openRedis(options, clock, timeoutMs, {})
  }

  static {
    construct = (...args) => new RedisBackend(...args)
  }

  get(scope: ScopePath, keys: readonly string[], options: { values: boolean; now: number }) {
    return this.reader.get(scope, keys, options)
  }

  write(request: WriteRequest): Promise<WriteResult> {
    return this.writer.write(request)
  }

  list(scope: ScopePath, query: ListQuery): Promise<StoredEntry[]> {
    return this.bounded(() => this.reader.list(scope, query), false)
  }

  clear(scope: ScopePath, now: number): Promise<number> {
    return this.bounded(() => this.tree.clear(scope, now), true)
  }

  drop(scope: ScopePath, now: number): Promise<void> {
    return this.bounded(() => this.tree.drop(scope, now), true)
  }

  scopes(scope: ScopePath, options: { after?: string; limit: number; now: number }): Promise<string[]> {
    return this.bounded(() => this.tree.scopes(scope, options.after, options.limit, options.now), false)
  }

  usage(scope: ScopePath, now: number): Promise<Usage> {
    return this.bounded(() => this.tree.usage(scope, now), false)
  }

  watch(scope: ScopePath, sink: WatchSink): WatchSubscription {
    return this.feed.subscribe(scope, sink)
  }

  /**
   * Lets calls in flight settle — each is bounded by the command timeout; close() waits at most a little less —
   * then drops every connection at once (a graceful close could wait forever on a stalled server).
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.sweeper.stop()
      this.feed.close()
      const settled = Promise.allSettled([this.writer.drain(), this.reader.drain(), ...this.calls])
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        settled,
        new Promise((resolve) => {
          timer = setTimeout(resolve, Math.floor(this.deadlines.ms * 0.8))
        }),
      ])
      clearTimeout(timer)
      this.connection.close()
      this.deadlines.stop()
    })()
    return this.closing
  }

  /** Runs a multi-step call, mapping driver failures to `BackendError`s and bounding it by the command timeout. */
  private bounded<T>(run: () => Promise<T>, write: boolean): Promise<T> {
    const call = Promise.resolve()
      .then(run)
      .catch((error: unknown) => {
        throw this.fail(error)
      })
    this.calls.add(call)
    const remove = () => this.calls.delete(call)
    call.then(remove, remove)
    return this.deadlines.bound(call, () => timeoutError(this.options.where, this.deadlines.ms, write))
  }
}

/**
 * Opens a backend (see `RedisBackend.open`), with test options. After the server checks it brings the stored layout
 * up to date (layout.ts): within the open's time, since core bounds the whole open by `timeoutMs`.
 */
export async function openRedis(
  options: ResolvedOptions,
  clock: () => number,
  timeoutMs: number,
  internal: InternalOptions,
): Promise<RedisBackend> {
  const started = Date.now()
  const state = { opened: false }
  try {
    const connection = options.cluster ? await connectCluster(options, state) : await connectServer(options, state)
    const functions = scripts(internal.checkKeys)
    let report: LayoutReport
    const deadlines = new Deadlines(options.commandTimeoutMs)
    try {
      const ready = async () => {
        await checkServer(connection, options.where)
        await loadLibrary(connection, functions.library)
      }
      await bounded(ready(), options.connectTimeoutMs, () => {})
      report = await ensureLayout({
        connection,
        scripts: functions,
        prefix: options.prefix,
        standalone: !connection.cluster,
        where: options.where,
        // Leave a little of the open's time to say why it failed, before core's own deadline does.
        deadline: started + Math.floor(timeoutMs * 0.9),
        bound: (promise) => deadlines.bound(promise, () => timeoutError(options.where, options.commandTimeoutMs, true)),
        hooks: internal.migration ?? {},
      })
    } catch (error) {
      connection.close()
      throw error
    } finally {
      deadlines.stop()
    }
    state.opened = true
    const backend = construct(connection, options, clock, timeoutMs, functions)
    layoutReports.set(backend, report)
    return backend
  } catch (error) {
    throw redisError(error, options.where)
  }
}
