import type { ChildProcess } from 'node:child_process'
import { spawn } from 'node:child_process'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import type { Cubby } from '@cubby/core'
import { createHost, type HostOptions } from '../../src/index.js'
import { samplePlugins } from '../../src/plugins/index.js'

/** The built entry point that `npm start` runs. */
export const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url))

/** The packages whose `dist` the built host runs: tests that spawn it check they are built from the current sources. */
export const BUILT_PACKAGES = [
  ...['core', 'backend-memory', 'backend-sqlite', 'backend-redis'].map((name) =>
    fileURLToPath(new URL(`../../../../packages/${name}`, import.meta.url)),
  ),
  fileURLToPath(new URL('../..', import.meta.url)),
]

/** Starts a host in this process on a free loopback port. */
export async function startHost(cubby: Cubby, options: Partial<HostOptions> = {}) {
  const host = createHost({ cubby, plugins: samplePlugins, log: () => {}, ...options })
  await new Promise<void>((resolve) => host.server.listen(0, '127.0.0.1', resolve))
  const { port } = host.server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}`, close: () => host.close() }
}

/** A host running as a child process (the built `dist/main.js`). */
export interface HostProcess {
  url: string
  child: ChildProcess
  output(): string
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>
}

/** What the root `npm start` runs. */
export const START = fileURLToPath(new URL('../../scripts/start.mjs', import.meta.url))

/** How long a host may take to print its URL: generous, for a loaded 2-core machine. */
const START_TIMEOUT_MS = 90_000

/** Spawns the built host (or `script`) with `env` (PORT=0 unless given) and waits for the URL it prints. */
export async function spawnHost(env: Record<string, string>, cwd?: string, script = MAIN): Promise<HostProcess> {
  const child = spawn(process.execPath, [script], {
    cwd,
    env: { PATH: process.env.PATH ?? '', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.on('data', (chunk) => {
    output += chunk
  })
  child.stderr!.on('data', (chunk) => {
    output += chunk
  })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`host did not start within ${START_TIMEOUT_MS} ms:\n${output}`))
    }, START_TIMEOUT_MS)
    const look = () => {
      const match = /listening on (http:\/\/\S+)/.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve(match[1]!)
      }
    }
    child.stdout!.on('data', look)
    exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`host exited with ${code} before listening:\n${output}`))
    })
  })
  return {
    url,
    child,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM')
      return exited
    },
  }
}

/** fetch + JSON body. */
export async function call(
  url: string,
  init: RequestInit & { user?: string; json?: unknown } = {},
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field with expect
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers = new Headers(init.headers)
  if (init.user !== undefined) headers.set('x-user', init.user)
  let body = init.body
  if (init.json !== undefined) {
    headers.set('content-type', 'application/json')
    body = JSON.stringify(init.json)
  }
  const response = await fetch(url, { ...init, headers, body })
  const text = await response.text()
  let parsed: unknown = text
  try {
    parsed = text === '' ? undefined : JSON.parse(text)
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body: parsed, headers: response.headers }
}
