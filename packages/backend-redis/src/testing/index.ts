/**
 * `@cubby/backend-redis/testing`: throwaway Redis servers for tests — a single redis-server or a local 3-master
 * cluster on free loopback ports, ready when returned, stopped by `stop()`. Needs `redis-server` and `redis-cli` on
 * the PATH; without them it fails with an install hint.
 */
export { startCluster, type TestCluster } from './cluster.js'
export { freePort, requireRedis, startRedis, type TestRedis, waitForPing } from './server.js'
