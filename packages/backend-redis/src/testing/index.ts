/**
 * `@cubby/backend-redis/testing`: throwaway Redis servers for tests — a single redis-server or a local 3-master
 * cluster on free loopback ports, ready when returned (and checked to be our own processes), stopped by `stop()`,
 * and killed if the test process exits first. Needs `redis-server` and `redis-cli` on the PATH; without them it
 * fails with an install hint.
 */

export { type InternalOptions, layoutReport, type MigrationHooks, openTestBackend } from './backend.js'
export { startCluster, type TestCluster, type TestClusterOptions } from './cluster.js'
export { freePort, requireRedis, waitForPing } from './process.js'
export { startRedis, type TestRedis, type TestRedisOptions } from './server.js'
