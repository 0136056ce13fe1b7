/**
 * `@cubby/backend-redis`: Cubby on Redis or Redis Cluster, for hosts that run as several instances.
 * `openCubby('redis://127.0.0.1:6379/0')`, `openCubby('redis+cluster://127.0.0.1:7000,127.0.0.1:7001')`.
 */
import type { BackendFactory } from '@cubby/core/backend'
import { resolveOptions } from './options.js'
import { RedisBackend } from './redis-backend.js'

export type { RedisOptions } from './options.js'
export { RedisBackend } from './redis-backend.js'

/** Creates a Redis backend from `openCubby` input: connects, with options validated. */
export const createBackend: BackendFactory = async ({ url, options, clock, timeoutMs }) =>
  RedisBackend.open(resolveOptions(url ?? 'redis://127.0.0.1:6379', options), clock, timeoutMs)
