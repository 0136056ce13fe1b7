/**
 * `@cubby/backend-postgres`: Cubby on PostgreSQL, for hosts that already run it. `openCubby({ url: 'postgres://…' })`
 * (or `postgresql://`, or CUBBY_URL) loads it.
 */
import type { BackendFactory } from '@cubby/core/backend'
import { resolveOptions } from './options.js'
import { PostgresBackend } from './postgres-backend.js'

export type { PostgresOptions, ResolvedOptions } from './options.js'
export { resolveOptions } from './options.js'
export { PostgresBackend } from './postgres-backend.js'
export { SCHEMA_VERSION } from './schema.js'

/** Creates a PostgreSQL backend from `openCubby` input: URL and options validated, schema created or migrated. */
export const createBackend: BackendFactory = async ({ url, options, clock, timeoutMs }) => {
  if (url === undefined) throw new Error('unreachable: the postgres backend is only loaded for a postgres: URL')
  return PostgresBackend.open(resolveOptions(url, options, timeoutMs), clock)
}
