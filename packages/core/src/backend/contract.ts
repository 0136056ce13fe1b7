/**
 * The backend contract: what a storage engine implements so that Cubby can run on it.
 *
 * Core does everything that is the same for every engine: it validates keys, scopes and options, encodes values to
 * bytes, turns TTLs into absolute times, pages lists, retries `update`, filters and buffers watch events, and times
 * out calls. A backend stores and returns bytes, and makes each call atomic. Every argument it receives is already
 * valid. Run `@cubby/conformance` against your backend: passing it is the definition of "works".
 *
 * Rules for every method:
 * - Scopes are paths of 0..8 segments; `[]` is the root. A scope's keys are its own: never a parent's or a child's.
 *   Encode paths injectively (`encodeScopePath` from `@cubby/core/backend` does this).
 * - Keys are compared in UTF-8 byte order (`compareKeys` does this for JS strings).
 * - An entry whose `expiresAt <= now` is absent to every call, whether or not it has been physically removed yet.
 *   `now` is epoch milliseconds, passed with each call so tests can inject a clock.
 * - Reject with a `CubbyError` (`BackendError` for I/O failures, with the driver error as `cause`); never throw
 *   synchronously, never hang: bound every wait on I/O by `BackendInit.timeoutMs`.
 * - Core passes the same `ScopePath` array object for every call made through one view, so per-scope data (ids,
 *   key names) can be cached by identity, e.g. in a WeakMap.
 */

/** Path of a scope. `[]` is the root scope. */
export type ScopePath = readonly string[]

/** One stored entry, as the backend returns it. */
export interface StoredEntry {
  key: string
  /** Encoded value bytes exactly as written. Omitted when the caller passed `values: false`. */
  value?: Uint8Array
  /** Opaque version string: a key never gets a version it has had before, even after delete or drop. */
  version: string
  /** Absolute expiry in epoch ms; absent when the entry does not expire. */
  expiresAt?: number
}

/** A write operation within a batch. Operations apply in order; each sees the effects of the ones before it. */
export type WriteOp =
  /** Store `value` (full replacement). `expiresAt` absent = no expiry (an existing TTL is removed). */
  | { type: 'set'; key: string; value: Uint8Array; expiresAt?: number }
  /** Remove the key if present. */
  | { type: 'delete'; key: string }
  /**
   * Add `by` to the number stored at `key` (absent = 0) and store the sum, encoded with `numberCodec`. A stored value
   * that is not a number (`numberCodec.read` returns undefined) rejects the whole batch with `InvalidValueError`.
   * `expiresAt` absent = keep the existing expiry.
   */
  | { type: 'incr'; key: string; by: number; expiresAt?: number }

/** A precondition: `key` must currently have `version`, or be absent when `version` is null. */
export interface WriteCheck {
  key: string
  version: string | null
}

/**
 * A cap on the subtree rooted at `scope` (an ancestor of, or equal to, the written scope). After the batch, the
 * subtree's live keys and bytes (`keyBytes` + `value.byteLength` per entry) must stay within the limits, unless the
 * batch did not increase that dimension. Before rejecting, reclaim expired entries of that subtree and check again.
 */
export interface QuotaRule {
  scope: ScopePath
  maxKeys?: number
  maxBytes?: number
}

/** A batch of writes to one scope, applied all or nothing. */
export interface WriteRequest {
  scope: ScopePath
  /** Preconditions; if any fails, nothing is written and the result is `{ ok: false }`. */
  checks: readonly WriteCheck[]
  ops: readonly WriteOp[]
  /** Quotas to enforce; on overrun reject with `QuotaExceededError` and write nothing. */
  quotas: readonly QuotaRule[]
  now: number
}

/** What one operation did, in the order of `WriteRequest.ops`. */
export interface OpResult {
  /** Whether the key held a live value before this operation. */
  existed: boolean
  /** The new version (set, incr). */
  version?: string
  /** The new number (incr). */
  number?: number
}

/** Result of `write`. */
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
  /** Return at most this many entries (>= 1). */
  limit: number
  /** Include `value` bytes. */
  values: boolean
  now: number
}

/** A change to one key, delivered to watchers of its scope in commit order. */
export interface ChangeEvent {
  type: 'set' | 'delete'
  key: string
  /** The new version, for `set`. */
  version?: string
}

/** Receives a watch's events. Calls must be cheap: core only buffers them. */
export interface WatchSink {
  event(event: ChangeEvent): void
  /** The watch cannot continue (e.g. a lost connection that skipped events); no more calls follow. */
  error(error: Error): void
}

/** A running watch. */
export interface WatchSubscription {
  /** Resolves once the watch observes: every write that starts after it resolves is delivered. */
  ready: Promise<void>
  /** Stop delivering. Idempotent. */
  close(): void
}

/** Live keys and bytes of a scope and all its descendants. */
export interface Usage {
  keys: number
  /** UTF-8 key bytes + encoded value bytes. */
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
   * Every call settles within `BackendInit.timeoutMs` on its own (rejecting with `BackendError` when the storage
   * does not answer). When false, core races each call against a timer instead, which costs a little per call.
   */
  timeouts: boolean
}

/** A storage engine. See the module comment for the rules every method follows. */
export interface Backend {
  /** Short name for messages, e.g. `'sqlite'`. */
  readonly name: string
  readonly capabilities: BackendCapabilities
  /** Entries for `keys`, in the same order; `undefined` where absent or expired. Keys may repeat. */
  get(
    scope: ScopePath,
    keys: readonly string[],
    options: { values: boolean; now: number },
  ): Promise<(StoredEntry | undefined)[]>
  /** Applies a batch atomically (checks, then ops in order, then quotas), and notifies watchers after it commits. */
  write(request: WriteRequest): Promise<WriteResult>
  /** Up to `query.limit` live entries of the scope's own keys, in UTF-8 byte order (descending if `reverse`). */
  list(scope: ScopePath, query: ListQuery): Promise<StoredEntry[]>
  /** Removes the scope's own keys (not its children's); resolves to how many live keys were removed. */
  clear(scope: ScopePath, now: number): Promise<number>
  /** Removes the scope's own keys and every descendant scope's keys. */
  drop(scope: ScopePath, now: number): Promise<void>
  /** Names of direct child scopes whose subtree holds live data, ascending, after `after`, at most `limit`. */
  scopes(scope: ScopePath, options: { after?: string; limit: number; now: number }): Promise<string[]>
  /** Live usage of the scope and its descendants (reclaim what has expired first, so the figure is exact). */
  usage(scope: ScopePath, now: number): Promise<Usage>
  /** Delivers every change to the scope's own keys (set, delete, and each key removed by clear/drop). */
  watch(scope: ScopePath, sink: WatchSink): WatchSubscription
  /** Lets calls in flight settle (committing or failing them), then releases connections, timers and files. No calls follow. */
  close(): Promise<void>
}

/** What `openCubby` hands to a backend package's `createBackend`. */
export interface BackendInit {
  /** The URL the cubby was opened with (e.g. `sqlite:./data/cubby.db`), if any. */
  url?: string
  /** Options that core did not recognise, for the backend to validate (unknown ones: `InvalidConfigError`). */
  options: Readonly<Record<string, unknown>>
  /** The clock core passes as `now`; use it for background work such as expiry sweeps. */
  clock: () => number
  /** How long a call may take before it must fail with `BackendError` (see `capabilities.timeouts`). */
  timeoutMs: number
}

/** The shape a backend package exports as `createBackend`. */
export type BackendFactory = (init: BackendInit) => Promise<Backend>
