import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { CliIO } from '../../src/index.js'
import { connect } from '../../src/index.js'
import { openCapturing, type TestConnection } from './capture.js'
import { sharedMemory } from './cli.js'

export { openCapturing, over, type TestConnection } from './capture.js'

/** A backend the CLI tests run against: fresh, empty stores by URL, and the `connect` to give the CLI. */
export interface TestBackend {
  name: string
  /** A URL of a new, empty store. */
  fresh(): Promise<string>
  /** The `connect` to pass in `CliIO` (memory needs a shared in-process store). */
  connect: NonNullable<CliIO['connect']>
  /** Opens a store by URL for setting up and checking data. */
  open(url: string): Promise<TestConnection>
  close(): Promise<void>
}

/** In-process memory stores named `memory:mN`. */
export function memoryBackend(): TestBackend {
  const memory = sharedMemory()
  let n = 0
  return {
    name: 'memory',
    fresh: async () => `memory:m${++n}`,
    connect: memory.connect!,
    open: (url) => memory.open(url),
    close: () => memory.close(),
  }
}

/** SQLite files in a temporary folder. */
export async function sqliteBackend(): Promise<TestBackend> {
  const dir = await mkdtemp(join(tmpdir(), 'cubby-cli-sqlite-'))
  let n = 0
  return {
    name: 'sqlite',
    fresh: async () => `sqlite:${join(dir, `s${++n}.db`)}`,
    connect,
    open: (url) => openCapturing(url),
    close: () => rm(dir, { recursive: true, force: true }),
  }
}

/** Databases 1..15 of one test redis-server (started by the Redis package's test helper), one per `fresh()`. */
export async function redisBackend(): Promise<TestBackend> {
  const { startRedis } = await import('@cubby/backend-redis/testing')
  const server = await startRedis()
  let n = 0
  return {
    name: 'redis',
    fresh: async () => {
      if (++n > 15) throw new Error('out of redis databases for this test file')
      return `${server.url}/${n}`
    },
    connect,
    open: (url) => openCapturing(url),
    close: () => server.stop(),
  }
}

/** The backends every command test runs against. */
export const BACKENDS: [string, () => Promise<TestBackend>][] = [
  ['memory', async () => memoryBackend()],
  ['sqlite', sqliteBackend],
  ['redis', redisBackend],
]

/** One store of a backend, shared by the tests of a file: its URL, a connection held by the test, and a reset. */
export interface TestStore {
  url: string
  /** The `connect` to give the CLI. */
  connect: NonNullable<CliIO['connect']>
  /** Opened by the test, to set up and check data next to the CLI's own connections. */
  connection: TestConnection
  /** Removes everything in the store. */
  reset(): Promise<void>
  close(): Promise<void>
}

/** A fresh store of the backend `make` creates. */
export async function testStore(make: () => Promise<TestBackend>): Promise<TestStore> {
  const backend = await make()
  const url = await backend.fresh()
  const connection = await backend.open(url)
  return {
    url,
    connect: backend.connect,
    connection,
    reset: () => connection.cubby.scope().drop(),
    close: async () => {
      await connection.close()
      await backend.close()
    },
  }
}
