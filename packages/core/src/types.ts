import type { ChangeEvent, Usage } from './backend/contract.js'

/** A stored entry as `getEntry` and `list` return it. */
export interface Entry<T = unknown> {
  key: string
  value: T
  /** Opaque; changes on every write. Pass it as `ifVersion` for a conditional write. */
  version: string
  /** Expiry in epoch milliseconds; absent when the key does not expire. */
  expiresAt?: number
}

/** An entry listed with `values: false`. */
export type KeyInfo = Omit<Entry, 'value'>

/** Options of `set`. */
export interface SetOptions {
  /** Expire after this many milliseconds. Without it, the key does not expire (an existing TTL is removed). */
  ttl?: number
  /** Write only if the key's current version is this one; `null` = only if the key is absent. */
  ifVersion?: string | null
}

/** Options of `delete`. */
export interface DeleteOptions {
  /** Delete only if the key's current version is this one; `null` = only if absent (then nothing is deleted). */
  ifVersion?: string | null
}

/** Options of `update`. */
export interface UpdateOptions {
  /** New TTL in milliseconds. Without it, an existing TTL is kept. */
  ttl?: number
  /** Give up with `ConflictError` after this many retries. @default Infinity (retry with backoff until it commits) */
  maxRetries?: number
}

/** Options of `incr`. */
export interface IncrOptions {
  /** New TTL in milliseconds. Without it, an existing TTL is kept. */
  ttl?: number
}

/** Options of `setMany`. */
export interface SetManyOptions {
  /** TTL in milliseconds for every entry. */
  ttl?: number
}

/** A key range of a scope's own keys, in UTF-8 byte order. Bounds combine. */
export interface RangeOptions {
  /** Only keys starting with this. */
  prefix?: string
  /** Only keys `>= start`. */
  start?: string
  /** Only keys `< end`. */
  end?: string
  /** Descending order. @default false */
  reverse?: boolean
}

/** Options of `list`. */
export interface ListOptions extends RangeOptions {
  /** Page size. @default 100 (at most `limits.maxPageSize`) */
  limit?: number
  /** The `cursor` of the previous page. */
  cursor?: string
  /** Include values. @default true */
  values?: boolean
}

/** A page of `list`. `cursor` is present while more entries remain. */
export interface ListPage<E> {
  entries: E[]
  cursor?: string
}

/** Options of `entries` / `keys`. */
export interface IterateOptions extends RangeOptions {
  /** Stop after this many. @default no limit */
  limit?: number
  /** Entries fetched per round trip. @default 100 */
  pageSize?: number
}

/** Options of `scopes`. */
export interface ScopesOptions {
  /** Page size. @default 100 */
  limit?: number
  /** The `cursor` of the previous page. */
  cursor?: string
}

/** A page of `scopes`. */
export interface ScopesPage {
  names: string[]
  cursor?: string
}

/** What `watch` observes. Without options, every key of the scope. */
export interface WatchFilter {
  /** Only keys starting with this. */
  prefix?: string
  /** Only these keys. */
  keys?: readonly string[]
}

/** Options of `watch`. */
export interface WatchOptions {
  /** Aborting ends the iteration cleanly. */
  signal?: AbortSignal
  /**
   * Events buffered for a slow consumer. When more arrive, the watch ends with `WatchOverflowError` (code
   * `BACKEND`): re-read your state and watch again. Writers are never slowed. @default 10000
   */
  maxBuffered?: number
}

/** A running watch: iterate it for events. */
export interface Watch extends AsyncIterable<ChangeEvent> {
  /** Resolves once observing: every write that starts after this is delivered. */
  readonly ready: Promise<void>
  /** Ends the iteration. Idempotent. */
  close(): void
}

/** The result of `atomic().commit()`. */
export type AtomicResult = { ok: true; versions: Record<string, string> } | { ok: false }

/** Builds an all-or-nothing batch in one scope. Validation happens at `commit()`. */
export interface AtomicBatch {
  /** Require `key` to have `version` (or to be absent, for `null`) at commit. */
  check(key: string, version: string | null): AtomicBatch
  set(key: string, value: unknown, options?: { ttl?: number }): AtomicBatch
  delete(key: string): AtomicBatch
  incr(key: string, by?: number, options?: { ttl?: number }): AtomicBatch
  /**
   * Applies everything or nothing. `{ ok: false }` when a check failed; rejects for invalid input or quota.
   * `versions` maps each key the batch left stored to its new version.
   */
  commit(): Promise<AtomicResult>
}

/** A view of one scope. Cheap to create; holds no connection. */
export interface KVStore {
  /** This scope's path (`[]` for the root). */
  readonly path: readonly string[]
  /** A child view; throws `InvalidScopeError` at once for a bad segment. */
  scope(...segments: string[]): KVStore
  get<T = unknown>(key: string): Promise<T | undefined>
  get<T = unknown>(key: string, fallback: T): Promise<T>
  getEntry<T = unknown>(key: string): Promise<Entry<T> | undefined>
  has(key: string): Promise<boolean>
  /** Stores `value` (a full replacement) and resolves to its new version. */
  set(key: string, value: unknown, options?: SetOptions): Promise<string>
  /** Resolves to whether something was removed. */
  delete(key: string, options?: DeleteOptions): Promise<boolean>
  /**
   * Atomic read-modify-write: `fn(current)` returns the new value (`undefined` deletes the key). Retried when
   * another writer got there first, so `fn` may run more than once. Resolves to what was stored.
   */
  update<T = unknown>(
    key: string,
    fn: (current: T | undefined) => T | undefined | Promise<T | undefined>,
    options?: UpdateOptions,
  ): Promise<T | undefined>
  /** Atomically adds `by` (default 1) to a number (absent = 0); resolves to the new number. */
  incr(key: string, by?: number, options?: IncrOptions): Promise<number>
  getMany<T = unknown>(keys: readonly string[]): Promise<(T | undefined)[]>
  /** Writes all entries or none. */
  setMany(
    entries: Iterable<readonly [string, unknown]> | Record<string, unknown>,
    options?: SetManyOptions,
  ): Promise<void>
  /** Resolves to how many keys were removed. */
  deleteMany(keys: readonly string[]): Promise<number>
  list<T = unknown>(options?: ListOptions & { values?: true }): Promise<ListPage<Entry<T>>>
  list(options: ListOptions & { values: false }): Promise<ListPage<KeyInfo>>
  entries<T = unknown>(options?: IterateOptions): AsyncIterableIterator<Entry<T>>
  keys(options?: IterateOptions): AsyncIterableIterator<string>
  atomic(): AtomicBatch
  watch(filter?: WatchFilter, options?: WatchOptions): Watch
  /** Removes this scope's own keys (not child scopes'); resolves to how many. */
  clear(): Promise<number>
  /** Removes this scope's own keys and every descendant scope. */
  drop(): Promise<void>
  /** Live keys and bytes of this scope and its descendants. */
  usage(): Promise<Usage>
  /** Names of direct child scopes that hold data, in UTF-8 byte order. */
  scopes(options?: ScopesOptions): Promise<ScopesPage>
}
