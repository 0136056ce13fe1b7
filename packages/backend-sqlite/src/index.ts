/**
 * `@cubby/backend-sqlite`: the embedded default Cubby backend, on better-sqlite3. `openCubby()` with no URL (and no
 * CUBBY_URL) opens `sqlite:./data/cubby.db`, creating the folder.
 */
import type { BackendFactory } from '@cubby/core/backend'
import { fileFromUrl, resolveOptions } from './options.js'
import { SqliteBackend } from './sqlite-backend.js'

export type { ResolvedOptions, SqliteOptions } from './options.js'
export { fileFromUrl, resolveOptions } from './options.js'
export { SCHEMA_VERSION } from './schema.js'
export { SqliteBackend } from './sqlite-backend.js'

/** Creates a SQLite backend from `openCubby` input: the file from the URL, options validated. */
export const createBackend: BackendFactory = async ({ url, options, clock, timeoutMs }) => {
  const file = fileFromUrl(url ?? 'sqlite:./data/cubby.db')
  return new SqliteBackend(resolveOptions(file, options, timeoutMs), clock)
}
