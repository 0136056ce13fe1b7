import { BackendError, CubbyError, DEFAULT_LIMITS } from '@cubby/core'
import type { Backend, ScopePath, StoredEntry } from '@cubby/core/backend'

/**
 * Byte-level access to a backend for export, import, migrate and verify: depth-first scope walks and paged entry
 * reads that hold a bounded number of value bytes at a time, whatever the size of the store and of its values.
 */

/** Names per `scopes` page. */
const SCOPE_PAGE = 100
/** Entries per `list` page at most (the contract's usual `maxPageSize`). */
const PAGE = 1000
/** Value bytes one read may return at most, unless a reader asks for another bound. */
export const DEFAULT_FETCH_BYTES = 32 * 1024 * 1024

/** Runs a raw backend call, turning a driver's error into a `BackendError` (what core does for ordinary calls). */
export async function call<T>(backend: Backend, run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (error) {
    if (error instanceof CubbyError) throw error
    const detail = error instanceof Error ? error.message : String(error)
    throw new BackendError(`the ${backend.name} backend failed: ${detail}`, { cause: error })
  }
}

/** Every scope at or below `root` (`root` first), depth-first, children in UTF-8 byte order. */
export async function* walkScopes(backend: Backend, root: ScopePath, signal?: AbortSignal): AsyncGenerator<string[]> {
  yield [...root]
  let after: string | undefined
  for (;;) {
    signal?.throwIfAborted()
    const query = { limit: SCOPE_PAGE, now: Date.now(), ...(after === undefined ? {} : { after }) }
    const names = await call(backend, () => backend.scopes(root, query))
    for (const name of names) yield* walkScopes(backend, [...root, name], signal)
    if (names.length < SCOPE_PAGE) return
    after = names[names.length - 1]
  }
}

/** Options of `entryPages`. */
export interface PageOptions {
  /** Include value bytes (required). */
  values: boolean
  /** Aborting stops the reads between pages. @default none */
  signal?: AbortSignal
  /**
   * The largest value the store may hold (its `limits.maxValueBytes`). Reads ask for at most
   * `fetchBytes / maxValueBytes` values at once, so a page never holds more than `fetchBytes` of values.
   * @default DEFAULT_LIMITS.maxValueBytes (4 MiB)
   */
  maxValueBytes?: number
  /** Value bytes a page may hold at most. @default DEFAULT_FETCH_BYTES (32 MiB) */
  fetchBytes?: number
}

/**
 * The live entries of one scope's own keys, a page at a time, in key order.
 *
 * Without values, pages hold 1000 keys. With values, a page is bounded by bytes, not by a guess from earlier
 * values: it asks for at most `fetchBytes / maxValueBytes` entries (8 with the defaults, 1000 when values are
 * capped at 32 KiB), so whatever mix of sizes the scope holds, one page holds at most `fetchBytes` of values. A
 * value larger than `maxValueBytes` (a store written with higher limits) shrinks later pages to match it.
 *
 * The backend contract has no per-entry size to plan with, so small values pay for this bound with more, smaller
 * pages (about 2x slower on SQLite with the default limits); a `maxBytes` on `Backend.list` would remove that cost.
 */
export async function* entryPages(
  backend: Backend,
  scope: ScopePath,
  options: PageOptions,
): AsyncGenerator<StoredEntry[]> {
  const fetchBytes = options.fetchBytes ?? DEFAULT_FETCH_BYTES
  let largest = options.maxValueBytes ?? DEFAULT_LIMITS.maxValueBytes
  let after: string | undefined
  for (;;) {
    options.signal?.throwIfAborted()
    const limit = options.values ? Math.max(1, Math.min(PAGE, Math.floor(fetchBytes / largest))) : PAGE
    const query = { reverse: false, limit, values: options.values, now: Date.now() }
    const rows = await call(backend, () => backend.list(scope, after === undefined ? query : { ...query, after }))
    for (const row of rows) largest = Math.max(largest, row.value?.byteLength ?? 0)
    if (rows.length > 0) yield rows
    if (rows.length < limit) return
    after = rows[rows.length - 1]!.key
  }
}
