import type { Cubby } from '@cubby/core'
import type { ScopePath, StoredEntry } from '@cubby/core/backend'
import { type RawListQuery, rawScopeAt } from '@cubby/core/raw'

/**
 * Byte-level reads of a cubby for export, migrate and verify, through core's documented door (`@cubby/core/raw`, so
 * the cubby's closed check, timeout and error mapping apply): depth-first scope walks and paged entry reads that
 * hold at most a set number of value bytes at a time, whatever the size of the store and of its values.
 */

/** Names per `scopes` page. */
const SCOPE_PAGE = 100
/** Entries per `list` page at most (the contract's usual `maxPageSize`). */
const PAGE = 1000
/** Value bytes one read may return at most, unless a reader asks for another bound. */
export const DEFAULT_FETCH_BYTES = 32 * 1024 * 1024

/** Every scope at or below `root` (`root` first), depth-first, children in UTF-8 byte order. */
export async function* walkScopes(cubby: Cubby, root: ScopePath, signal?: AbortSignal): AsyncGenerator<string[]> {
  yield [...root]
  const raw = rawScopeAt(cubby, root)
  let after: string | undefined
  for (;;) {
    signal?.throwIfAborted()
    const names = await raw.scopes({ limit: SCOPE_PAGE, ...(after === undefined ? {} : { after }) })
    for (const name of names) yield* walkScopes(cubby, [...root, name], signal)
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
   * Value bytes a page may hold, about: the backend ends a page right after the value that reaches this bound
   * (`ListQuery.maxBytes`), so a page holds less than `fetchBytes` plus one value.
   * @default DEFAULT_FETCH_BYTES (32 MiB)
   */
  fetchBytes?: number
}

/**
 * The live entries of one scope's own keys, a page at a time, in key order. Pages hold up to 1000 entries; with
 * values, the backend also ends a page once its value bytes reach `fetchBytes`, so whatever mix of sizes the scope
 * holds, one page holds less than `fetchBytes` plus one value, and small values still come 1000 at a time.
 */
export async function* entryPages(cubby: Cubby, scope: ScopePath, options: PageOptions): AsyncGenerator<StoredEntry[]> {
  const fetchBytes = options.fetchBytes ?? DEFAULT_FETCH_BYTES
  const raw = rawScopeAt(cubby, scope)
  const limit = Math.min(PAGE, cubby.limits.maxPageSize)
  let after: string | undefined
  for (;;) {
    options.signal?.throwIfAborted()
    const query: RawListQuery = { reverse: false, limit, values: options.values }
    if (options.values) query.maxBytes = fetchBytes
    if (after !== undefined) query.after = after
    const rows = await raw.list(query)
    if (rows.length > 0) yield rows
    let bytes = 0
    for (const row of rows) bytes += row.value?.byteLength ?? 0
    // A short page is the end, unless the byte bound ended it.
    if (rows.length === 0 || (rows.length < limit && !(options.values && bytes >= fetchBytes))) return
    after = rows[rows.length - 1]!.key
  }
}
