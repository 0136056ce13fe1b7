import {
  type Backend,
  type BackendCapabilities,
  type ChangeEvent,
  compareKeys,
  encodeScopePath,
  incrSum,
  type ListQuery,
  matchesQuery,
  notANumber,
  numberCodec,
  type OpResult,
  prefixEnd,
  quotaCheck,
  type ScopePath,
  type StoredEntry,
  type Usage,
  type WatchSink,
  type WatchSubscription,
  type WriteOp,
  type WriteRequest,
  type WriteResult,
} from '@cubby/core/backend'
import { ExpiryHeap } from './expiry-heap.js'
import { liveAt, makeRec, type Rec, ScopeData } from './scope-data.js'
import { SortedKeys } from './sorted-keys.js'
import { UsageTree } from './usage-tree.js'

/** Options of the memory backend. */
export interface MemoryBackendOptions {
  /** How often expired entries are reclaimed in the background, in ms. They are also reclaimed before each write. @default 1000 */
  sweepIntervalMs?: number
  /** Clock for the background sweep. @default Date.now */
  clock?: () => number
}

/**
 * The in-process backend: the reference for correctness. Every call runs synchronously to completion, so each is
 * atomic; values are kept as encoded bytes, so reads return fresh copies.
 */
export class MemoryBackend implements Backend {
  readonly name = 'memory'
  readonly capabilities: BackendCapabilities = Object.freeze({
    ttl: true,
    watch: true,
    quotas: true,
    persistent: false,
    minQuotaDepth: 0,
    timeouts: true, // every call completes synchronously
  })
  private readonly byId = new Map<string, ScopeData>()
  private readonly usageTree = new UsageTree()
  private readonly expiries = new ExpiryHeap()
  private readonly watchers = new Map<string, Set<WatchSink>>()
  private lastVersion = 0
  /** Live records that carry an expiry; the heap is compacted when its stale items outnumber them. */
  private ttlRecords = 0
  private readonly sweeper: NodeJS.Timeout

  constructor(options: MemoryBackendOptions = {}) {
    const clock = options.clock ?? Date.now
    this.sweeper = setInterval(() => this.reclaim(clock()), options.sweepIntervalMs ?? 1000)
    this.sweeper.unref()
  }

  async get(scope: ScopePath, keys: readonly string[], options: { values: boolean; now: number }) {
    const data = this.byId.get(scopeId(scope))
    const { values, now } = options
    const out: (StoredEntry | undefined)[] = []
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!
      const rec = data?.live(key, now)
      out.push(rec && toStored(key, rec, values))
    }
    return out
  }

  async write(request: WriteRequest): Promise<WriteResult> {
    const { scope, now } = request
    this.reclaim(now)
    const id = scopeId(scope)
    const data = this.byId.get(id)
    for (const check of request.checks) {
      const rec = data?.live(check.key, now)
      if ((rec?.version ?? null) !== check.version) return { ok: false }
    }
    if (request.ops.length === 1) return this.writeOne(request, id, data)
    // Stage every op against an overlay, so a failing op (not a number, quota) leaves nothing behind. The overlay
    // maps each key to its slot in `keys`, `recs` (what the batch leaves) and `olds` (what was stored before it).
    const overlay = new Map<string, number>()
    const keys: string[] = []
    const recs: (Rec | undefined)[] = []
    const olds: (Rec | undefined)[] = []
    const results: OpResult[] = []
    // Events are only built when someone watches this scope.
    const events: ChangeEvent[] | undefined = this.watchers.has(id) ? [] : undefined
    for (const op of request.ops) {
      let slot = overlay.get(op.key)
      let before: Rec | undefined
      if (slot === undefined) {
        const old = data?.entries.get(op.key)
        before = liveAt(old, now)
        slot = keys.push(op.key) - 1
        olds.push(old)
        recs.push(undefined)
        overlay.set(op.key, slot)
      } else before = recs[slot]
      const rec = this.stage(op, before, results)
      recs[slot] = rec
      if (rec) events?.push({ type: 'set', key: op.key, version: rec.version })
      else if (before) events?.push({ type: 'delete', key: op.key })
    }
    let keyDelta = 0
    let bytes = 0
    for (let i = 0; i < keys.length; i++) {
      const rec = recs[i]
      const old = olds[i]
      keyDelta += (rec ? 1 : 0) - (old ? 1 : 0)
      bytes += (rec?.size ?? 0) - (old?.size ?? 0)
    }
    this.checkQuotas(request, keyDelta, bytes)
    const target = data ?? this.scopeData(scope, id)
    for (let i = 0; i < keys.length; i++) this.place(target, keys[i]!, recs[i], olds[i])
    this.prune(target)
    if (events) this.notify(id, events)
    return { ok: true, results }
  }

  /**
   * `write` of a single op (after its checks passed), the common case: the same steps without the overlay, and one
   * lookup of the key instead of four.
   */
  private writeOne(request: WriteRequest, id: string, data: ScopeData | undefined): WriteResult {
    const op = request.ops[0]!
    const old = data?.entries.get(op.key)
    const before = liveAt(old, request.now)
    const results: OpResult[] = []
    const rec = this.stage(op, before, results)
    this.checkQuotas(request, (rec ? 1 : 0) - (old ? 1 : 0), (rec?.size ?? 0) - (old?.size ?? 0))
    const target = data ?? this.scopeData(request.scope, id)
    this.place(target, op.key, rec, old)
    this.prune(target)
    if (this.watchers.has(id)) {
      if (rec) this.notify(id, [{ type: 'set', key: op.key, version: rec.version }])
      else if (before) this.notify(id, [{ type: 'delete', key: op.key }])
    }
    return { ok: true, results }
  }

  /** Throws the `QuotaExceededError` of the first quota of `request` that a change of `keys` and `bytes` overruns. */
  private checkQuotas(request: WriteRequest, keys: number, bytes: number): void {
    for (const rule of request.quotas) {
      const before = this.usageTree.get(scopeId(rule.scope))
      const error = quotaCheck(rule, before, { keys: before.keys + keys, bytes: before.bytes + bytes })
      if (error) throw error
    }
  }

  /** The record an op leaves (undefined for a delete), recording its result. Throws for incr on a non-number. */
  private stage(op: WriteOp, before: Rec | undefined, results: OpResult[]): Rec | undefined {
    if (op.type === 'delete') {
      results.push({ existed: before !== undefined })
      return undefined
    }
    const version = this.nextVersion()
    if (op.type === 'set') {
      results.push({ existed: before !== undefined, version })
      return makeRec(op.key, op.value, version, op.expiresAt)
    }
    const base = before ? numberCodec.read(before.value) : 0
    if (base === undefined) throw notANumber(op.key)
    const sum = incrSum(op.key, base, op.by)
    results.push({ existed: before !== undefined, version, number: sum })
    return makeRec(op.key, numberCodec.write(sum), version, op.expiresAt ?? before?.expiresAt)
  }

  async list(scope: ScopePath, query: ListQuery): Promise<StoredEntry[]> {
    const data = this.byId.get(scopeId(scope))
    if (!data) return []
    const keys = data.index.view()
    const out: StoredEntry[] = []
    const full = pageFull(query)
    const end = query.prefix === undefined ? undefined : prefixEnd(query.prefix)
    const upper = minBound(query.end, end, query.reverse ? query.after : undefined)
    const lower = maxBound(query.start, query.prefix, query.reverse ? undefined : query.after)
    if (query.reverse) {
      let i = upper === undefined ? keys.length - 1 : SortedKeys.lowerBound(keys, upper, false) - 1
      for (; i >= 0 && !full(out); i--) {
        if (!this.collect(data, keys[i]!, query, out)) break
      }
    } else {
      let i = lower === undefined ? 0 : SortedKeys.lowerBound(keys, lower, false)
      for (; i < keys.length && !full(out); i++) {
        if (!this.collect(data, keys[i]!, query, out)) break
      }
    }
    return out
  }

  async clear(scope: ScopePath, now: number): Promise<number> {
    this.reclaim(now)
    const data = this.byId.get(scopeId(scope))
    return data ? this.removeAll(data) : 0
  }

  async drop(scope: ScopePath, now: number): Promise<void> {
    this.reclaim(now)
    const id = scopeId(scope)
    for (const data of [...this.byId.values()]) {
      if (scope.length === 0 || data.id === id || data.id.startsWith(`${id}/`)) this.removeAll(data)
    }
  }

  async scopes(scope: ScopePath, options: { after?: string; limit: number; now: number }): Promise<string[]> {
    this.reclaim(options.now)
    const after = options.after
    const names = [...this.usageTree.childNames(scopeId(scope))]
    return names
      .filter((name) => after === undefined || compareKeys(name, after) > 0)
      .sort(compareKeys)
      .slice(0, options.limit)
  }

  async usage(scope: ScopePath, now: number): Promise<Usage> {
    this.reclaim(now)
    return this.usageTree.get(scopeId(scope))
  }

  watch(scope: ScopePath, sink: WatchSink): WatchSubscription {
    const id = scopeId(scope)
    const sinks = this.watchers.get(id) ?? new Set<WatchSink>()
    this.watchers.set(id, sinks)
    sinks.add(sink)
    return {
      ready: Promise.resolve(),
      close: () => {
        sinks.delete(sink)
        if (sinks.size === 0 && this.watchers.get(id) === sinks) this.watchers.delete(id)
      },
    }
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper)
    this.watchers.clear()
  }

  /** Removes every entry whose expiry is due at `now`. */
  reclaim(now: number): void {
    for (let item = this.expiries.popDue(now); item; item = this.expiries.popDue(now)) {
      const data = this.byId.get(item.scopeId)
      const rec = data?.entries.get(item.key)
      if (data && rec && rec.version === item.version && rec.expiresAt === item.at) {
        this.place(data, item.key, undefined)
        this.prune(data)
      }
    }
  }

  private nextVersion(): string {
    return (++this.lastVersion).toString(36)
  }

  private scopeData(path: ScopePath, id: string): ScopeData {
    const data = this.byId.get(id) ?? new ScopeData(path)
    this.byId.set(id, data)
    return data
  }

  /** Stores (or, for undefined, removes) one record, keeping index, usage and expiry schedule in step. */
  private place(data: ScopeData, key: string, rec: Rec | undefined, old = data.entries.get(key)): void {
    if (old?.expiresAt !== undefined) this.ttlRecords--
    if (rec) {
      data.entries.set(key, rec)
      if (!old) data.index.add(key)
      if (rec.expiresAt !== undefined) {
        this.ttlRecords++
        this.expiries.push({ at: rec.expiresAt, scopeId: data.id, key, version: rec.version })
        if (this.expiries.size > 2 * this.ttlRecords + 64) this.compactExpiries()
      }
    } else if (old) {
      data.entries.delete(key)
      data.index.remove(key)
    }
    this.usageTree.apply(data.path, data.ancestors, (rec ? 1 : 0) - (old ? 1 : 0), (rec?.size ?? 0) - (old?.size ?? 0))
  }

  /** Drops heap items of records that were rewritten or removed since (amortised O(1) per TTL write). */
  private compactExpiries(): void {
    this.expiries.retain((item) => {
      const rec = this.byId.get(item.scopeId)?.entries.get(item.key)
      return rec !== undefined && rec.version === item.version && rec.expiresAt === item.at
    })
  }

  /** Forgets a scope that no longer holds entries. */
  private prune(data: ScopeData): void {
    if (data.entries.size === 0 && this.byId.get(data.id) === data) this.byId.delete(data.id)
  }

  private removeAll(data: ScopeData): number {
    const keys = [...data.entries.keys()]
    for (const key of keys) this.place(data, key, undefined)
    this.prune(data)
    this.notify(
      data.id,
      keys.map((key) => ({ type: 'delete', key })),
    )
    return keys.length
  }

  /** Adds `key` to `out` if it is live and in range; returns false once the scan has left the range. */
  private collect(data: ScopeData, key: string, query: ListQuery, out: StoredEntry[]): boolean {
    if (!matchesQuery(key, query)) return !outside(key, query)
    const rec = data.live(key, query.now)
    if (rec) out.push(toStored(key, rec, query.values))
    return true
  }

  private notify(id: string, events: ChangeEvent[]): void {
    const sinks = this.watchers.get(id)
    if (!sinks || events.length === 0) return
    for (const sink of [...sinks]) for (const event of events) sink.event({ ...event })
  }
}

/** Whether a page is complete: `limit` entries, or value bytes that reached `maxBytes`. */
function pageFull(query: ListQuery): (out: StoredEntry[]) => boolean {
  const { limit, maxBytes } = query
  if (maxBytes === undefined || !query.values) return (out) => out.length >= limit
  let counted = 0
  let bytes = 0
  return (out) => {
    for (; counted < out.length; counted++) bytes += out[counted]!.value?.byteLength ?? 0
    return out.length >= limit || bytes >= maxBytes
  }
}

/** The smallest of the given bounds in key order. */
function minBound(...bounds: (string | undefined)[]): string | undefined {
  let min: string | undefined
  for (const bound of bounds) if (bound !== undefined && (min === undefined || compareKeys(bound, min) < 0)) min = bound
  return min
}

/** The largest of the given bounds in key order. */
function maxBound(...bounds: (string | undefined)[]): string | undefined {
  let max: string | undefined
  for (const bound of bounds) if (bound !== undefined && (max === undefined || compareKeys(bound, max) > 0)) max = bound
  return max
}

/** Whether a scan in the query's direction has passed every key the query can match. */
function outside(key: string, query: ListQuery): boolean {
  const { prefix } = query
  if (query.reverse) {
    return (
      (query.start !== undefined && compareKeys(key, query.start) < 0) ||
      (prefix !== undefined && compareKeys(key, prefix) < 0)
    )
  }
  return (
    (query.end !== undefined && compareKeys(key, query.end) >= 0) ||
    (prefix !== undefined && !key.startsWith(prefix) && compareKeys(key, prefix) > 0)
  )
}

/** Core passes the same path array for every call through one view, so ids are cached by identity. */
const ids = new WeakMap<ScopePath, string>()
/** The internal id of a scope path (exported for the testing entry point only; not re-exported by the index). */
export function scopeId(path: ScopePath): string {
  let id = ids.get(path)
  if (id === undefined) {
    id = encodeScopePath(path)
    ids.set(path, id)
  }
  return id
}

function toStored(key: string, rec: Rec, values: boolean): StoredEntry {
  const entry: StoredEntry = { key, version: rec.version }
  if (values) entry.value = rec.value
  if (rec.expiresAt !== undefined) entry.expiresAt = rec.expiresAt
  return entry
}
