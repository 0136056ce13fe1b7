import type { Deadlines } from '@cubby/core/backend'
import { type StoredEntry, UnsupportedError, type WriteRequest, type WriteResult } from '@cubby/core/backend'
import type { Connection } from './connection.js'
import { timeoutError } from './errors.js'
import { incrInJs } from './incr-js.js'
import { groupsKey, type ScopeKeys, scopeKeys } from './keys.js'
import type { Scripts } from './scripts.js'
import { type BatchContext, encodeBatch, type Item, weight } from './write-batch.js'
import { VersionBlocks } from './write-bulk.js'
import { type FollowUp, type Reply, settleReply } from './write-reply.js'

/** Most requests in one script call, so one huge tick cannot block Redis for long (or overflow a stack). */
export const MAX_BATCH_REQUESTS = 1000
/** Most bytes of arguments in one script call (a single larger request still goes alone). */
export const MAX_BATCH_BYTES = 8 << 20

/** What the writer needs from the rest of the backend. */
export interface WriterDeps {
  connection: Connection
  scripts: Scripts
  deadlines: Deadlines
  context: BatchContext
  where: string
  fail(error: unknown): Error
  /** Cluster: puts a group in its ancestors' child indexes (before its marker is set). */
  register(scope: ScopeKeys): Promise<void>
  /** Reclaims expired entries that a quota refusal counted, so the request can be decided again. */
  reclaim(request: WriteRequest): Promise<void>
  /** Reads entries of the request's scope with values (the reader's bounded, coalesced get). */
  read(request: WriteRequest, keys: string[]): Promise<(StoredEntry | undefined)[]>
}

/**
 * Group commit for Redis: write requests issued in the same tick for the same group go to the server as one call of
 * the write script (in slices of at most MAX_BATCH_REQUESTS), which applies them in order, each all or nothing.
 */
export class Writer {
  private readonly pending = new Map<string, Item[]>()
  private scheduled = false
  private readonly tasks = new Set<Promise<unknown>>()
  private readonly flushNow = () => this.flush()
  /** Versions granted for bulk runs, per group. */
  private readonly blocks = new VersionBlocks()

  constructor(private readonly deps: WriterDeps) {}

  /** Queues a request; the result arrives after the script call that carries it has run. */
  write(request: WriteRequest): Promise<WriteResult> {
    const scope = scopeKeys(this.deps.context.prefix, request.scope)
    if (!this.deps.context.standalone) {
      for (const rule of request.quotas) {
        if (scopeKeys(this.deps.context.prefix, rule.scope).group !== scope.group) {
          return Promise.reject(
            new UnsupportedError('on a Redis Cluster, quotas can be enforced only on scopes at depth >= 2'),
          )
        }
      }
    }
    return new Promise<WriteResult>((resolve, reject) => {
      this.enqueue({ request, scope, final: false, resolve: resolve as (result: unknown) => void, reject })
    })
  }

  /** Resolves once every request queued so far has settled. */
  async drain(): Promise<void> {
    while (this.pending.size > 0 || this.tasks.size > 0) {
      if (this.pending.size > 0) this.flush()
      await Promise.allSettled([...this.tasks])
    }
  }

  private enqueue(item: Item): void {
    const group = item.scope.group
    const items = this.pending.get(group)
    if (items) items.push(item)
    else this.pending.set(group, [item])
    if (!this.scheduled) {
      this.scheduled = true
      queueMicrotask(this.flushNow)
    }
  }

  private flush(): void {
    this.scheduled = false
    for (const [group, items] of this.pending) {
      const scope = items[0]!.scope
      const flags = !this.deps.context.standalone && scope.depth > 0 ? 'r' : ''
      if (items.length === 1) {
        // The common case of awaited calls: one request, nothing to count or cut.
        this.send(group, scope, items, flags, items[0]!.request.ops.length)
        continue
      }
      let expected = 0
      for (const item of items) expected += item.request.ops.length
      let start = 0
      let size = 0
      for (let i = 0; i < items.length; i++) {
        size += weight(items[i]!.request)
        if (i + 1 - start >= MAX_BATCH_REQUESTS || size >= MAX_BATCH_BYTES || i + 1 === items.length) {
          this.send(
            group,
            scope,
            start === 0 && i + 1 === items.length ? items : items.slice(start, i + 1),
            flags,
            expected,
          )
          start = i + 1
          size = 0
        }
      }
    }
    this.pending.clear()
  }

  private send(group: string, scope: ScopeKeys, items: Item[], flags: string, expected = 0): void {
    const { deps, blocks } = this
    let batch: ReturnType<typeof encodeBatch>
    try {
      batch = encodeBatch(deps.context, group, items, flags, { blocks, expected })
    } catch (error) {
      for (const item of items) item.reject(error)
      return
    }
    let expired = false
    const done = deps.deadlines.start(() => {
      expired = true
      if (batch.asked) blocks.granted(group)
      const error = timeoutError(deps.where, deps.deadlines.ms, true)
      for (const item of items) item.reject(error)
    })
    const task = deps.scripts.write.sendThen<Promise<void> | undefined>(
      deps.connection,
      batch.route,
      batch.call,
      batch.keys,
      (raw) => {
        done()
        if (batch.asked) blocks.granted(group) // a grant below replaces this
        if (expired) return
        let reply: Reply
        try {
          reply = settleReply(raw, batch.records, (item, what) => this.followUp(item, what))
          if (reply.lost) blocks.forget(group)
          if (reply.grant) blocks.granted(group, ...reply.grant)
        } catch (error) {
          this.failAll(items, error)
          return
        }
        // Rare: a cluster group to register first, or an expiry to list. Settled items are not touched again.
        if (reply.register || reply.lowered !== undefined) return this.after(reply, group, scope, items)
      },
      (error: unknown) => {
        done()
        if (batch.asked) blocks.granted(group)
        if (!expired) this.failAll(items, error)
        return undefined
      },
    )
    this.track(task)
  }

  /** What a reply asks for after its items were settled: registering the group, or listing its new expiry. */
  private async after(reply: Reply, group: string, scope: ScopeKeys, items: Item[]): Promise<void> {
    const { deps } = this
    try {
      if (reply.register) {
        await this.bounded(deps.register(scope))
        this.send(group, scope, items, 'rm')
        // Again after the marker is set: closes the race with a concurrent prune of the group.
        this.track(this.bounded(deps.register(scope)).catch(() => {}))
        return
      }
      if (reply.lowered !== undefined) await this.registerExpiry(scope, reply.lowered)
    } catch (error) {
      this.failAll(items, error)
    }
  }

  private failAll(items: Item[], error: unknown): void {
    const failure = this.deps.fail(error)
    for (const item of items) item.reject(failure)
  }

  /** Cluster: lists the group in `P:xg` by its new earliest expiry, so the background sweep visits it in time. */
  private async registerExpiry(scope: ScopeKeys, at: number): Promise<void> {
    const key = groupsKey(this.deps.context.prefix)
    await this.bounded(this.deps.connection.send(key, ['ZADD', key, 'LT', String(at), scope.tag])).catch(() => {
      // The on-demand sweeps (usage, scopes, quota) still reclaim; the native expiry is the backstop.
    })
  }

  private bounded<T>(promise: Promise<T>): Promise<T> {
    return this.deps.deadlines.bound(promise, () => timeoutError(this.deps.where, this.deps.deadlines.ms, true))
  }

  private followUp(item: Item, what: FollowUp): void {
    const task =
      what === 'js'
        ? incrInJs({ read: this.deps.read, write: (r) => this.write(r) }, item.request).then(
            item.resolve,
            (error: unknown) => item.reject(this.deps.fail(error)),
          )
        : this.deps.reclaim(item.request).then(
            () => this.enqueue({ ...item, final: true }),
            (error: unknown) => item.reject(this.deps.fail(error)),
          )
    this.track(task)
  }

  private track(task: Promise<unknown>): void {
    this.tasks.add(task)
    const remove = () => this.tasks.delete(task)
    task.then(remove, remove)
  }
}
