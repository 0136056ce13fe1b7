import type { ChangeEvent, Usage } from './backend/contract.js'

/** A stored entry as `getEntry` and `list` return it. */
export interface Entry<T = unknown> {
  /** The key, within the scope it was read from. */
  key: string
  /** A fresh copy of the stored value. */
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
  /**
   * Expire after this many milliseconds (rounded up). Without it, the key does not expire (an existing TTL is
   * removed). @default no expiry
   */
  ttl?: number
  /** Write only if the key's current version is this one; `null` = only if the key is absent. @default unconditional */
  ifVersion?: string | null
}

/** Options of `delete`. */
export interface DeleteOptions {
  /**
   * Delete only if the key's current version is this one; `null` = only if absent (then nothing is deleted).
   * @default unconditional
   */
  ifVersion?: string | null
}

/** Options of `update`. */
export interface UpdateOptions {
  /** New TTL in milliseconds. Without it, an existing TTL is kept. @default keep the key's TTL */
  ttl?: number
  /** Give up with `ConflictError` after this many retries. @default Infinity (retry with backoff until it commits) */
  maxRetries?: number
}

/** Options of `incr`. */
export interface IncrOptions {
  /** New TTL in milliseconds. Without it, an existing TTL is kept. @default keep the key's TTL */
  ttl?: number
}

/** Options of `setMany`. */
export interface SetManyOptions {
  /** TTL in milliseconds for every entry. @default no expiry (existing TTLs are removed, as with `set`) */
  ttl?: number
}

/** A key range of a scope's own keys, in UTF-8 byte order. Bounds combine. */
export interface RangeOptions {
  /** Only keys starting with this. @default every key */
  prefix?: string
  /** Only keys `>= start` (inclusive). @default no lower bound */
  start?: string
  /** Only keys `< end` (exclusive). @default no upper bound */
  end?: string
  /** Descending order. @default false */
  reverse?: boolean
}

/** Options of `list`. */
export interface ListOptions extends RangeOptions {
  /** Page size. @default 100 (at most `limits.maxPageSize`) */
  limit?: number
  /** The `cursor` of the previous page (same scope, same order). @default the first page */
  cursor?: string
  /** Include values. @default true */
  values?: boolean
}

/** A page of `list`. `cursor` is present while more entries remain. */
export interface ListPage<E> {
  /** The page's entries, in order; as many as `limit` asked for unless none are left. */
  entries: E[]
  /** Pass it as `cursor` to get the next page; absent on the last page. */
  cursor?: string
}

/** Options of `entries` / `keys`. */
export interface IterateOptions extends RangeOptions {
  /** Stop after this many. @default no limit */
  limit?: number
  /** Entries fetched per round trip. @default 100 (at most `limits.maxPageSize`) */
  pageSize?: number
}

/** Options of `scopes`. */
export interface ScopesOptions {
  /** Page size. @default 100 (at most `limits.maxPageSize`) */
  limit?: number
  /** The `cursor` of the previous page. @default the first page */
  cursor?: string
}

/** A page of `scopes`. */
export interface ScopesPage {
  /** Names of direct child scopes holding data, in UTF-8 byte order. */
  names: string[]
  /** Pass it as `cursor` to get the next page; absent on the last page. */
  cursor?: string
}

/** Options of `users`. */
export interface UsersOptions {
  /** Page size. @default 100 (at most `limits.maxPageSize`) */
  limit?: number
  /** The `cursor` of the previous page. @default the first page */
  cursor?: string
}

/** A page of `users`. */
export interface UsersPage {
  /** Ids of the plugin's users whose scopes hold data, in UTF-8 byte order. */
  ids: string[]
  /** Pass it as `cursor` to get the next page; absent on the last page. */
  cursor?: string
}

/** What `watch` observes. Without options, every key of the scope. */
export interface WatchFilter {
  /** Only keys starting with this. @default every key */
  prefix?: string
  /** Only these keys (combined with `prefix`, both must match). @default every key */
  keys?: readonly string[]
}

/** Options of `watch`. */
export interface WatchOptions {
  /** Aborting ends the iteration cleanly. @default none */
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
  /** Ends the iteration; events buffered but not yet read are discarded. Idempotent. */
  close(): void
}

/** The result of `atomic().commit()`. */
export type AtomicResult = { ok: true; versions: Record<string, string> } | { ok: false }

/** Builds an all-or-nothing batch in one scope. Validation happens at `commit()`. */
export interface AtomicBatch {
  /** Require `key` to have `version` (or to be absent, for `null`) at commit. */
  check(key: string, version: string | null): AtomicBatch
  /** Store `value` at `key` (a full replacement; without `ttl` an existing TTL is removed), as `set` does. */
  set(key: string, value: unknown, options?: { ttl?: number }): AtomicBatch
  /** Remove `key` if present. */
  delete(key: string): AtomicBatch
  /** Add `by` (default 1) to the number at `key` (absent = 0), as `incr` does; without `ttl` the TTL is kept. */
  incr(key: string, by?: number, options?: { ttl?: number }): AtomicBatch
  /**
   * Applies everything or nothing. `{ ok: false }` when a check failed; rejects for invalid input or quota.
   * `versions` maps each key the batch left stored to its new version.
   */
  commit(): Promise<AtomicResult>
}

/** A view of one scope. Cheap to create; holds no connection. */
export interface KVStore {
  /**
   * This scope's storage path (`[]` for the root). A user's scope is `[workspace, plugin, '', user]`: the empty
   * segment marks the user level, which no `scope()` call can produce.
   */
  readonly path: readonly string[]
  /**
   * A child view; throws `InvalidScopeError` at once for a bad segment. Child scopes never reach a user's scope,
   * whatever their names: users live in a level of their own (see `user`).
   */
  scope(...segments: string[]): KVStore
  /**
   * The private scope of user `id` of this plugin (what `stores({ user })` gives), for host and admin code. Only on
   * a plugin's scope `[workspace, plugin]`; elsewhere, or for a bad id, throws `InvalidScopeError` at once.
   */
  user(id: string): KVStore
  /**
   * One page of the ids of this plugin's users whose scopes hold data, in UTF-8 byte order, like `scopes()`. Only on
   * a plugin's scope `[workspace, plugin]` (elsewhere it rejects with `InvalidScopeError`).
   */
  users(options?: UsersOptions): Promise<UsersPage>
  /** A fresh copy of the value at `key`, or `undefined` when it is absent or expired. */
  get<T = unknown>(key: string): Promise<T | undefined>
  /** The value at `key`, or `fallback` when it is absent or expired. */
  get<T = unknown>(key: string, fallback: T): Promise<T>
  /** The value with its version and expiry (`expiresAt`, epoch ms), or `undefined` when absent or expired. */
  getEntry<T = unknown>(key: string): Promise<Entry<T> | undefined>
  /** Whether `key` holds a live value (does not read the value). */
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
  /** The values of `keys`, in the same order (`undefined` where absent); keys may repeat. One round trip. */
  getMany<T = unknown>(keys: readonly string[]): Promise<(T | undefined)[]>
  /** Writes all entries or none. */
  setMany(
    entries: Iterable<readonly [string, unknown]> | Record<string, unknown>,
    options?: SetManyOptions,
  ): Promise<void>
  /** Resolves to how many keys were removed. */
  deleteMany(keys: readonly string[]): Promise<number>
  /**
   * One page of this scope's own keys in UTF-8 byte order (within `prefix`/`start`/`end`), with values.
   * `cursor` is present while more entries remain; pass it back to continue (it stays valid while others write).
   */
  list<T = unknown>(options?: ListOptions & { values?: true }): Promise<ListPage<Entry<T>>>
  /** One page of keys with versions and expiry, without values. */
  list(options: ListOptions & { values: false }): Promise<ListPage<KeyInfo>>
  /** Every entry in range, one at a time, fetching `pageSize` per round trip. */
  entries<T = unknown>(options?: IterateOptions): AsyncIterableIterator<Entry<T>>
  /** Every key in range, one at a time, fetching `pageSize` per round trip. */
  keys(options?: IterateOptions): AsyncIterableIterator<string>
  /** A builder for an all-or-nothing batch of checks and writes in this scope. */
  atomic(): AtomicBatch
  /**
   * Change events for this scope's own keys, from every process on the same backend, one per changed key in
   * commit order. Await `ready` before relying on delivery.
   */
  watch(filter?: WatchFilter, options?: WatchOptions): Watch
  /** Removes this scope's own keys (not child scopes'); resolves to how many. */
  clear(): Promise<number>
  /** Removes this scope's own keys and every descendant scope. */
  drop(): Promise<void>
  /** Live keys and bytes of this scope and its descendants. */
  usage(): Promise<Usage>
  /** Names of direct child scopes that hold data, in UTF-8 byte order. A plugin's users are not among them. */
  scopes(options?: ScopesOptions): Promise<ScopesPage>
}
