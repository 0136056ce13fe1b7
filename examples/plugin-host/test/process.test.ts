import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { assertFreshDist } from '@cubby/conformance'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BUILT_PACKAGES, call, MAIN, START, spawnHost } from './support/host.js'
import { openSse } from './support/sse.js'

let dir: string
beforeAll(async () => {
  assertFreshDist(BUILT_PACKAGES)
  dir = await mkdtemp(join(tmpdir(), 'cubby-host-'))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

describe('the built host (what npm start runs)', () => {
  it('opens the SQLite default under ./data, prints the URL and curl lines, and keeps data across restarts', async () => {
    const first = await spawnHost({}, dir)
    expect(first.output()).toContain('storage: sqlite (sqlite:./data/cubby.db)')
    expect(first.output()).toMatch(
      /curl -s -H 'x-user: alice' -d '\{"title":"buy milk"\}' http:\/\/127\.0\.0\.1:\d+\/todos/,
    )
    expect(existsSync(join(dir, 'data', 'cubby.db'))).toBe(true)
    await call(`${first.url}/counter/boots/incr`, { method: 'POST' })
    const bytes = Buffer.from([0, 255, 1, 254])
    expect((await call(`${first.url}/files/b.bin`, { method: 'PUT', body: bytes })).status).toBe(201)
    // SIGTERM closes open event streams, the server and the store, and exits 0.
    const stream = await openSse(`${first.url}/feed/events`)
    await stream.next((e) => e.event === 'ready')
    expect(await first.stop()).toBe(0)
    expect(first.output()).toContain('stopped')
    stream.close()

    const second = await spawnHost({}, dir)
    expect((await call(`${second.url}/counter/boots/incr`, { method: 'POST' })).body.value).toBe(2)
    const file = await fetch(`${second.url}/files/b.bin`)
    expect(Buffer.from(await file.arrayBuffer()).equals(bytes)).toBe(true)
    expect(await second.stop()).toBe(0)
  })

  it('scripts/start.mjs (npm start) starts the host in the current folder', async () => {
    // The build step is skipped here: `npm test` has just built everything, and a build during the run could
    // rewrite dist/ while other test files spawn it. What it would run is the root `npm run build`, filtered.
    const host = await spawnHost({ CUBBY_SKIP_BUILD: '1' }, dir, START)
    expect(host.output()).toContain('storage: sqlite (sqlite:./data/cubby.db)')
    expect((await call(`${host.url}/health`)).body).toEqual({ ok: true })
    expect(await host.stop()).toBe(0)
  })

  it('scripts/start.mjs installs nothing: without node_modules it says what to run', async () => {
    // The script as it would sit in a fresh clone, before `npm ci`.
    const clone = join(dir, 'clone')
    await mkdir(join(clone, 'examples', 'plugin-host', 'scripts'), { recursive: true })
    const script = join(clone, 'examples', 'plugin-host', 'scripts', 'start.mjs')
    await copyFile(START, script)
    const result = await runNode([script], {})
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('Run `npm install` (or `npm ci`) at the repository root first.')
  })

  it('honours PORT and HOST, and exits 1 with a message when the port is taken', async () => {
    const first = await spawnHost({ HOST: '127.0.0.1', CUBBY_URL: 'memory:' }, dir)
    const port = new URL(first.url).port
    const clash = spawnHost({ PORT: port, CUBBY_URL: 'memory:' }, dir)
    await expect(clash).rejects.toThrow(/exited with 1[\s\S]*cannot listen on 127\.0\.0\.1:\d+/)
    expect(await first.stop()).toBe(0)
  })

  it('reports a bad CUBBY_URL or a store that is down in one line, and exits 1', async () => {
    for (const url of ['nope://x', 'redis://127.0.0.1:1']) {
      const result = await runNode([MAIN], { CUBBY_URL: url, PORT: '0' })
      expect(result.code, url).toBe(1)
      expect(result.stderr.startsWith(`cannot open the store ${url}: `), result.stderr).toBe(true)
      expect(result.stderr, url).toMatch(/: (INVALID_CONFIG|BACKEND): /)
      expect(result.stderr.trim().split('\n'), url).toHaveLength(1)
    }
  })
})

/** Runs node with `args` in the test folder to the end. */
async function runNode(args: string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, args, { cwd: dir, env: { PATH: process.env.PATH ?? '', ...env } })
  let stderr = ''
  child.stderr.on('data', (chunk) => {
    stderr += chunk
  })
  child.stdout.resume()
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', resolve)
  })
  return { code, stderr }
}
