/**
 * The backend contract: what a storage engine implements so that Cubby can run on it. This file is the whole
 * specification; a backend written from it alone, that passes `@cubby/conformance`, works.
 *
 * Core does everything that is the same for every engine: it validates keys, scopes and options, encodes values to
 * bytes, turns TTLs into absolute times, pages lists, retries `update`, filters and buffers watch events, and times
 * out calls (when asked to, see `BackendCapabilities.timeouts`). A backend stores and returns bytes, and makes each
 * call atomic. Run `@cubby/conformance` against your backend: passing it is the definition of "works".
 *
 * Rules for every method:
 * - Every argument is already valid: keys and segments are non-empty, well-formed strings within the limits, batches
 *   within `limits.maxBatchSize`, `limit >= 1`, `after`/`prefix`/`start`/`end` well-formed. Do not re-validate.
 * - Scopes are paths of 0..9 segments; `[]` is the root. A scope's keys are its own: never a parent's or a child's.
 *   Segments are non-empty strings, except the user level: a user's scope is `[workspace, plugin, '', user]`, so
 *   `''` (`USER_LEVEL`) appears at index 2 of paths of 4 or more segments (up to 8 others around it). Treat it as an
 *   ordinary segment name: `scopes([w, p])` lists it as a child when a user holds data, `usage`/`drop` of `[w, p]`
 *   include the users. Encode paths injectively (`encodeScopePath` from `@cubby/core/backend` does this).
 * - Keys are compared in UTF-8 byte order (`compareKeys` does this for JS strings).
 * - An entry whose `expiresAt <= now` is absent to every call, whether or not it has been physically removed yet.
 *   `now` is epoch milliseconds, passed with each call so tests can inject a clock. Expiry emits no watch events.
 * - Reject with a `CubbyError` (`BackendError` for I/O failures, with the driver error as `cause`); never throw
 *   synchronously (return a rejected promise), never hang: bound every wait on I/O by `BackendInit.timeoutMs`, or
 *   declare `capabilities.timeouts: false` and let core do it.
 * - Arrays and objects core passes in (`keys`, `ops`, `checks`, `quotas`, scope paths) are never modified by core
 *   afterwards, so a backend may keep them (e.g. queue them for a batch) without copying. A backend must not modify
 *   them either. Values it returns (`StoredEntry.value`, name arrays) become core's: do not reuse them.
 * - Core passes the same `ScopePath` array object for every call made through one view, so per-scope data (ids,
 *   key names) can be cached by identity, e.g. in a WeakMap.
 * - Versions are non-empty strings (core refuses `''` as an `ifVersion`), unique per key forever: a key never gets
 *   a version it has had before, even after delete, clear or drop, from any process. A counter shared by all
 *   processes (or a timestamp plus a random part) does it.
 */

/** Path of a scope. `[]` is the root scope. */
export type ScopePath = readonly string[]

/** One stored entry, as the backend returns it. */
export interface StoredEntry {
  /** The key, within the scope that was read. */
  key: string
  /** Encoded value bytes exactly as written. Omitted when the caller passed `values: false`. */
  value?: Uint8Array
  /** Opaque version string: a key never gets a version it has had before, even after delete or drop. */
  version: string
  /** Absolute expiry in epoch ms; absent when the entry does not expire. */
  expiresAt?: number
}

/**
 * A write operation within a batch. Operations apply in order; each sees the effects of the ones before it (a key
 * may appear several times: `set k` then `delete k` leaves `k` absent, `incr k` twice adds both).
 */
export type WriteOp =
  /** Store `value` (full replacement). `expiresAt` absent = no expiry (an existing TTL is removed). */
  | { type: 'set'; key: string; value: Uint8Array; expiresAt?: number }
  /** Remove the key if present. */
  | { type: 'delete'; key: string }
  /**
   * Add `by` (a finite number) to the number stored at `key` (absent = 0) and store the sum, encoded with
   * `numberCodec.write`. Compute the sum with `incrSum(key, current, by)`: it rejects (with `InvalidValueError`) a
   * sum that is not finite, and an integer sum past `Number.MAX_SAFE_INTEGER`, where precision (an increment) would
   * be lost. A stored value that is not a number (`numberCodec.read` returns undefined) rejects with `notANumber(key)`.
   * Either way the whole batch is rejected and nothing is written. `expiresAt` absent = keep the existing expiry.
   */
  | { type: 'incr'; key: string; by: number; expiresAt?: number }

/** A precondition: `key` must currently have `version` (live), or be absent (or expired) when `version` is null. */
export interface WriteCheck {
  /** The key whose version is checked. */
  key: string
  /** The version it must have, or null for "absent". */
  version: string | null
}

/**
 * A cap on the subtree rooted at `scope` (an ancestor of, or equal to, the written scope). Compare the subtree's
 * live keys and bytes (UTF-8 key bytes + `value.byteLength` per entry) before the batch with after the whole batch:
 * the batch is allowed when each limited dimension is within its limit afterwards, or did not grow. Count the net
 * effect of the batch, never op by op: `set a` twice adds one key, `set a` then `delete a` adds nothing, an overwrite
 * adds the size difference. `quotaCheck` implements the comparison. Expired entries do not count: reclaim (or
 * exclude) them before deciding. Every rule in `WriteRequest.quotas` applies at once (a plugin cap, a user cap and
 * explicit caps together), and all are checked in the same atomic step as the write, across processes.
 */
export interface QuotaRule {
  /** Root of the capped subtree: the written scope or one of its ancestors. */
  scope: ScopePath
  /** Most live keys the subtree may hold, when given. */
  maxKeys?: number
  /** Most live bytes the subtree may hold, when given. */
  maxBytes?: number
}

/** A batch of writes to one scope, applied all or nothing, atomically with respect to every other process. */
export interface WriteRequest {
  /** The scope every op and check is in. */
  scope: ScopePath
  /** Preconditions, checked against the state before the batch; if any fails, nothing is written: `{ ok: false }`. */
  checks: readonly WriteCheck[]
  /**
   * The operations, at least one except for `atomic()` batches made only of checks: with empty `ops`, evaluate the
   * checks and resolve `{ ok: true, results: [] }` (or `{ ok: false }`), writing nothing.
   */
  ops: readonly WriteOp[]
  /** Quotas to enforce; on overrun reject with `QuotaExceededError` (see `quotaCheck`) and write nothing. */
  quotas: readonly QuotaRule[]
  /** The time of the batch: expiry is judged against it (`expiresAt <= now` is absent). */
  now: number
}

/** What one operation did, in the order of `WriteRequest.ops`. */
export interface OpResult {
  /** Whether the key held a live value just before this operation (after the batch's earlier ops). */
  existed: boolean
  /** The new version (set, incr). */
  version?: string
  /** The new number (incr). */
  number?: number
}

/** Result of `write`: one `OpResult` per op on success, `{ ok: false }` when a check failed. */
export type WriteResult = { ok: true; results: OpResult[] } | { ok: false }

/** A range of a scope's own keys. Bounds combine: a key must satisfy all that are given. */
export interface ListQuery {
  /** Keys starting with this string. */
  prefix?: string
  /** Keys `>= start`. */
  start?: string
  /** Keys `< end`. */
  end?: string
  /** Keys strictly after this one in iteration order (`>` ascending, `<` when `reverse`): the paging cursor. */
  after?: string
  /** Descending order. */
  reverse: boolean
  /**
   * Page size (>= 1). Return exactly `min(limit, n)` entries, where n is the number of live entries in range: a
   * shorter page tells core that nothing is left. So skip expired entries and keep reading until the page is full,
   * never count them toward the limit.
   */
  limit: number
  /** Include `value` bytes; when false, omit `StoredEntry.value`. */
  values: boolean
  /**
   * A bound on a page's value bytes, for tools that stream whole stores (the CLI's export and migrate) whatever
   * their value sizes. When set (only with `values`), end the page right after the first entry that brings the
   * page's total `value.byteLength` to `maxBytes` or more: such a page may hold fewer than `limit` entries (always
   * at least one), and the caller continues after its last key. A page shorter than `limit` whose value bytes stay
   * below `maxBytes` still means that nothing is left. Core's own `list` never sets it.
   */
  maxBytes?: number
  /** The time of the read (for expiry). */
  now: number
}

/** A change to one key, delivered to watchers of its scope in commit order. */
export interface ChangeEvent {
  /** `set` for set, incr and update; `delete` for a removed key (delete, clear, drop of the scope or an ancestor). */
  type: 'set' | 'delete'
  /** The key, in the watched scope. */
  key: string
  /** The new version, for `set`. */
  version?: string
}

/**
 * Receives a watch's events. Calls are cheap (core only buffers them) and may come from any callback; both may
 * even be called synchronously inside `Backend.watch()` before it returns.
 */
export interface WatchSink {
  /**
   * One committed change. Deliver one event per changed key, for writes from every process, in commit order, after
   * the commit, and only for writes that committed: a batch that was rejected (quota, not a number) or failed a
   * check emits nothing. Deleting an absent key emits nothing.
   */
  event(event: ChangeEvent): void
  /** The watch cannot continue (e.g. a lost connection that skipped events); no more calls follow. */
  error(error: Error): void
}

/** A running watch. */
export interface WatchSubscription {
  /**
   * Resolves once the watch observes: every write that starts after it resolves is delivered. Rejects (with a
   * `BackendError`) if the watch cannot start. Core bounds it by `timeoutMs` when `capabilities.timeouts` is false.
   */
  ready: Promise<void>
  /** Stop delivering and release what the watch holds. Idempotent; core may call it after `sink.error`. */
  close(): void
}

/** Live keys and bytes of a scope and all its descendants. */
export interface Usage {
  /** Number of live keys. */
  keys: number
  /** UTF-8 key bytes + encoded value bytes of the live keys. */
  bytes: number
}

/** What a backend can do, as data. The conformance suite skips the groups a backend declares it lacks. */
export interface BackendCapabilities {
  /** Supports `expiresAt` on writes. Without it, core rejects `ttl` options with `UnsupportedError`. */
  ttl: boolean
  /** Implements `watch` with events from every process/instance that shares the storage. */
  watch: boolean
  /** Enforces `WriteRequest.quotas` and implements `usage`. */
  quotas: boolean
  /** Data outlives the process (file, server). */
  persistent: boolean
  /**
   * The shallowest scope depth at which a quota can be enforced atomically (0 = any scope, including the root).
   * Core rejects quota configuration on shallower scopes with `InvalidConfigError`.
   */
  minQuotaDepth: number
  /**
   * Every call, `WatchSubscription.ready` and `close()` settle within `BackendInit.timeoutMs` on their own
   * (rejecting with `BackendError` when the storage does not answer). When false, core races each of them against a
   * timer instead, which costs a little per call. (Core bounds the factory by `timeoutMs` either way.)
   */
  timeouts: boolean
}

/** A storage engine. See the module comment for the rules every method follows. */
export interface Backend {
  /** Short name for messages, e.g. `'sqlite'`. */
  readonly name: string
  /** What the backend can do; read by core at open and by the conformance suite. Must not change. */
  readonly capabilities: BackendCapabilities
  /** Entries for `keys` (at least one), in the same order; `undefined` where absent or expired. Keys may repeat. */
  get(
    scope: ScopePath,
    keys: readonly string[],
    options: { values: boolean; now: number },
  ): Promise<(StoredEntry | undefined)[]>
  /**
   * Applies a batch atomically: checks (against the state before the batch), then ops in order, then quotas (net
   * effect of the whole batch). Resolves `{ ok: false }` when a check fails; rejects for a quota overrun or an
   * `incr` that cannot apply; writes nothing in both cases. Notifies watchers only after it commits.
   */
  write(request: WriteRequest): Promise<WriteResult>
  /**
   * Live entries of the scope's own keys in the query's range, in UTF-8 byte order (descending if `reverse`):
   * exactly `min(query.limit, remaining)` of them (see `ListQuery.limit`), or fewer when `query.maxBytes` ends the
   * page early.
   */
  list(scope: ScopePath, query: ListQuery): Promise<StoredEntry[]>
  /**
   * Removes the scope's own keys (not its children's), emitting a `delete` event per live key; resolves to how many
   * live keys were removed (expired ones are removed too but not counted).
   */
  clear(scope: ScopePath, now: number): Promise<number>
  /** Removes the scope's own keys and every descendant scope's keys, emitting `delete` events in each scope. */
  drop(scope: ScopePath, now: number): Promise<void>
  /**
   * Names of direct child scopes whose subtree holds live data (a child whose data has all expired is not listed),
   * ascending in UTF-8 order, strictly after `after`: exactly `min(limit, remaining)` of them, like `list`.
   */
  scopes(scope: ScopePath, options: { after?: string; limit: number; now: number }): Promise<string[]>
  /** Live usage of the scope and its descendants (reclaim or exclude what has expired, so the figure is exact). */
  usage(scope: ScopePath, now: number): Promise<Usage>
  /**
   * Starts delivering every change to the scope's own keys (set, delete, and each key removed by clear/drop of the
   * scope or an ancestor) from every process sharing the storage, until `close()`. Returns synchronously; report
   * problems through `ready` or `sink.error`, never by throwing.
   */
  watch(scope: ScopePath, sink: WatchSink): WatchSubscription
  /**
   * Lets calls in flight settle (committing or failing them), then releases connections, timers and files. Called
   * once; no calls follow.
   */
  close(): Promise<void>
}

/** What `openCubby` hands to a backend package's `createBackend`. */
export interface BackendInit {
  /**
   * The URL the cubby was opened with (e.g. `sqlite:./data/cubby.db`). Its scheme matched this package, compared
   * case-insensitively; parse the rest and reject what you cannot use with `InvalidConfigError('url', …)`.
   */
  url?: string
  /** Options that core did not recognise, for the backend to validate (unknown ones: `InvalidConfigError(name, …)`). */
  options: Readonly<Record<string, unknown>>
  /** The clock core passes as `now`; use it for background work such as expiry sweeps. */
  clock: () => number
  /** How long a call may take before it must fail with `BackendError` (see `capabilities.timeouts`). */
  timeoutMs: number
}

/**
 * The shape a backend package exports as `createBackend`. It must settle within `init.timeoutMs`: core fails the
 * open with `BackendError` after that, and closes a backend that arrives late.
 */
export type BackendFactory = (init: BackendInit) => Promise<Backend>
