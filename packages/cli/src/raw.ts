import { BackendError, CubbyError } from '@cubby/core'
import type { Backend, ScopePath, StoredEntry } from '@cubby/core/backend'

/**
 * Byte-level access to a backend for export, import, migrate and verify: depth-first scope walks and paged entry
 * reads that hold one page at a time, whatever the size of the store.
 */

/** Names per `scopes` page. */
const SCOPE_PAGE = 100
/** Entries per page: the first page, and the bounds of later ones. */
const FIRST_PAGE = 100
const MAX_PAGE = 1000
/** Later pages are sized to hold about this many value bytes, so that pages of large values stay small. */
const PAGE_BYTES = 8 * 1024 * 1024

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

/** The live entries of one scope's own keys, a page at a time, in key order. */
export async function* entryPages(
  backend: Backend,
  scope: ScopePath,
  options: { values: boolean; signal?: AbortSignal },
): AsyncGenerator<StoredEntry[]> {
  let limit = FIRST_PAGE
  let after: string | undefined
  for (;;) {
    options.signal?.throwIfAborted()
    const query = { reverse: false, limit, values: options.values, now: Date.now() }
    const rows = await call(backend, () => backend.list(scope, after === undefined ? query : { ...query, after }))
    if (rows.length > 0) yield rows
    if (rows.length < limit) return
    after = rows[rows.length - 1]!.key
    if (options.values) {
      const bytes = rows.reduce((sum, row) => sum + (row.value?.byteLength ?? 0), 0)
      limit = Math.max(1, Math.min(MAX_PAGE, Math.floor(PAGE_BYTES / Math.max(1, bytes / rows.length))))
    } else {
      limit = MAX_PAGE
    }
  }
}

/** `scope` with `path` appended. */
export function join(scope: readonly string[], path: readonly string[]): string[] {
  return [...scope, ...path]
}
