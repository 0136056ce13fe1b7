import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient } from 'redis'

/** A redis-server started for tests on a free loopback port. */
export interface TestRedis {
  port: number
  url: string
  /** Kills the server (SIGKILL: an outage, not a shutdown). */
  kill(): Promise<void>
  /** Starts it again on the same port. */
  restart(): Promise<void>
  stop(): Promise<void>
}

/** Fails with an install hint when redis-server is missing; tests are never skipped silently. */
export function requireRedis(): void {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' })
  } catch {
    throw new Error('redis-server is not installed: the Redis tests need it (Debian: apt-get install redis-server)')
  }
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/** Polls PING until the server answers (bounded), without fixed sleeps beyond the poll interval. */
export async function waitForPing(port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const client = createClient({
      url: `redis://127.0.0.1:${port}`,
      socket: { reconnectStrategy: false, connectTimeout: 500 },
    })
    client.on('error', () => {})
    try {
      await client.connect()
      await client.ping()
      await client.close()
      return
    } catch (error) {
      client.destroy()
      if (Date.now() > deadline)
        throw new Error(`redis-server on port ${port} did not answer PING: ${(error as Error).message}`)
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  }
}

/** Spawns a redis-server with the given extra arguments in a scratch directory. */
export function spawnRedis(port: number, dir: string, extra: string[] = []): ChildProcess {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extra],
    { stdio: 'ignore' },
  )
  child.on('error', () => {})
  return child
}

/** Stops a child and waits for it to exit. */
export async function killProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const gone = new Promise((resolve) => child.once('exit', resolve))
  child.kill(signal)
  await gone
}

/** Starts a standalone redis-server on a free port and waits until it answers. */
export async function startRedis(): Promise<TestRedis> {
  requireRedis()
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'cubby-redis-'))
  let child = spawnRedis(port, dir)
  await waitForPing(port)
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill: () => killProcess(child),
    restart: async () => {
      child = spawnRedis(port, dir)
      await waitForPing(port)
    },
    stop: async () => {
      await killProcess(child)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
