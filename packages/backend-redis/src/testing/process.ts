import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { createClient } from 'redis'

/** Fails with an install hint when redis-server is missing; tests are never skipped silently. */
export function requireRedis(): void {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' })
    execFileSync('redis-cli', ['--version'], { stdio: 'ignore' })
  } catch {
    throw new Error(
      'redis-server and redis-cli are not installed: the Redis tests need them (Debian: apt-get install redis-server)',
    )
  }
}

/** Whether `port` can be bound on 127.0.0.1 right now. */
function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/**
 * A free TCP port on 127.0.0.1 (with `plus`, one whose `port + plus` is free too, e.g. a cluster bus port). Another
 * process may still take it before redis-server binds it: `spawnRedis` checks that the server answering is ours.
 */
export async function freePort(plus?: number): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer()
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number }
        server.close(() => resolve(port))
      })
    })
    if (plus === undefined) return port
    if (port + plus <= 65535 && (await bindable(port + plus))) return port
    if (attempt > 100) throw new Error(`found no free port p with p + ${plus} free too`)
  }
}

const children = new Set<ChildProcess>()
let hooked = false

/** Servers must not outlive the test process, however it ends (short of SIGKILL, which nothing can catch). */
function killOnExit(child: ChildProcess): void {
  children.add(child)
  child.once('exit', () => children.delete(child))
  if (hooked) return
  hooked = true
  const killAll = () => {
    for (const running of children) running.kill('SIGKILL')
  }
  process.once('exit', killAll)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      killAll()
      process.removeListener(signal, onSignal)
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal) // the default action: exit
    }
    process.on(signal, onSignal)
  }
}

/** Connects to a local server (bounded), runs `fn`, and disconnects. */
export async function withClient<T>(
  port: number,
  password: string | undefined,
  fn: (client: ReturnType<typeof createClient>) => Promise<T>,
): Promise<T> {
  const client = createClient({
    socket: { host: '127.0.0.1', port, reconnectStrategy: false, connectTimeout: 2000 },
    ...(password === undefined ? {} : { password }),
  })
  client.on('error', () => {})
  try {
    await client.connect()
    return await fn(client)
  } finally {
    client.destroy()
  }
}

/** The process id the server on `port` reports, once it answers (bounded), or undefined if `child` exited. */
export async function waitForServer(
  port: number,
  password: string | undefined,
  child: ChildProcess,
  timeoutMs = 20_000,
): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) return undefined
    try {
      const info = await withClient(port, password, async (client) =>
        String(await client.sendCommand(['INFO', 'server'])),
      )
      return Number(/process_id:(\d+)/.exec(info)?.[1])
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(`redis-server on port ${port} did not answer: ${(error as Error).message}`)
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  }
}

/** Polls PING until the server on `port` answers (bounded). */
export async function waitForPing(port: number, timeoutMs = 15_000, password?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      await withClient(port, password, (client) => client.ping())
      return
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(`redis-server on port ${port} did not answer PING: ${(error as Error).message}`)
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  }
}

/**
 * Spawns a redis-server on 127.0.0.1:`port` in `dir` (no persistence) and waits until it answers. Resolves to the
 * child, or undefined when the port turned out to be taken (the child exited, or someone else's server answered):
 * the caller then picks another port. Never leaves a child running on failure.
 */
export async function spawnRedis(
  port: number,
  dir: string,
  extra: string[] = [],
  password?: string,
): Promise<ChildProcess | undefined> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir]
  if (password !== undefined) args.push('--requirepass', password, '--masterauth', password)
  const child = spawn('redis-server', [...args, ...extra], { stdio: 'ignore' })
  child.on('error', () => {})
  killOnExit(child)
  try {
    const pid = await waitForServer(port, password, child)
    if (pid === child.pid) return child
  } catch (error) {
    await killProcess(child)
    throw error
  }
  await killProcess(child)
  return undefined
}

/** Stops a child and waits for it to exit. */
export async function killProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const gone = new Promise((resolve) => child.once('exit', resolve))
  child.kill(signal)
  await gone
}
