import { type ChildProcess, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { createClient } from 'redis'

/** A throwaway redis-server on a free loopback port, for this benchmark run only. */
export interface RedisServer {
  url: string
  stop(): Promise<void>
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/** Starts redis-server without persistence and waits until it answers PING (bounded). */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort()
  let child: ChildProcess
  try {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    })
  } catch (error) {
    throw new Error(`cannot start redis-server (${(error as Error).message}); install it: apt-get install redis-server`)
  }
  const exited = new Promise<never>((_, reject) => {
    child.once('error', (error) =>
      reject(new Error(`redis-server failed to start: ${error.message}; apt-get install redis-server`)),
    )
    child.once('exit', (code) => reject(new Error(`redis-server exited with code ${code}`)))
  })
  exited.catch(() => {})
  const url = `redis://127.0.0.1:${port}`
  const deadline = Date.now() + 10_000
  for (;;) {
    const client = createClient({ url, socket: { reconnectStrategy: false, connectTimeout: 500 } })
    client.on('error', () => {})
    try {
      await Promise.race([client.connect().then(() => client.ping()), exited])
      await client.quit()
      break
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(`redis-server on port ${port} did not answer: ${(error as Error).message}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  return {
    url,
    stop: async () => {
      if (child.exitCode !== null) return
      const gone = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await gone
    },
  }
}
