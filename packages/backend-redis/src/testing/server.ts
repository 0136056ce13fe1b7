import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, killProcess, requireRedis, spawnRedis } from './process.js'

/** A redis-server started for tests on a free loopback port. */
export interface TestRedis {
  port: number
  /** `redis://[:password@]127.0.0.1:port`. */
  url: string
  /** The server's process id (changes on restart). */
  readonly pid: number
  /** Kills the server (SIGKILL: an outage, not a shutdown). */
  kill(): Promise<void>
  /** Starts it again on the same port, empty (no persistence). */
  restart(): Promise<void>
  /** Freezes the server (SIGSTOP): connections stay open, nothing answers. */
  pause(): void
  /** Lets a paused server go on (SIGCONT). */
  resume(): void
  stop(): Promise<void>
}

/** Options of a test server. */
export interface TestRedisOptions {
  /** Require this password (`requirepass`). @default none */
  password?: string
  /** More redis-server arguments. @default [] */
  args?: string[]
}

/**
 * Starts a standalone redis-server on a free port and waits until it answers — and checks that the server answering
 * is the one it started (another process may have taken the port first: then it tries another).
 */
export async function startRedis(options: TestRedisOptions = {}): Promise<TestRedis> {
  requireRedis()
  const dir = mkdtempSync(join(tmpdir(), 'cubby-redis-'))
  const { password, args = [] } = options
  let port = 0
  let child: ChildProcess | undefined
  try {
    for (let attempt = 0; !child; attempt++) {
      if (attempt === 5) throw new Error('could not start redis-server on a free port after 5 attempts')
      port = await freePort()
      child = await spawnRedis(port, dir, args, password)
    }
  } catch (error) {
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
  let current = child
  const auth = password === undefined ? '' : `:${encodeURIComponent(password)}@`
  return {
    port,
    url: `redis://${auth}127.0.0.1:${port}`,
    get pid() {
      return current.pid!
    },
    kill: () => killProcess(current),
    restart: async () => {
      await killProcess(current)
      const next = await spawnRedis(port, dir, args, password)
      if (!next) throw new Error(`port ${port} was taken by another process while the test server was down`)
      current = next
    },
    pause: () => {
      current.kill('SIGSTOP')
    },
    resume: () => {
      current.kill('SIGCONT')
    },
    stop: async () => {
      await killProcess(current)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
