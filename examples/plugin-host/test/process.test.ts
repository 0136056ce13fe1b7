import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { call, MAIN, START, spawnHost } from './support/host.js'
import { openSse } from './support/sse.js'

let dir: string
beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npx turbo run build\` first`)
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

  it('scripts/start.mjs (npm start) builds if needed and starts the host in the current folder', async () => {
    const host = await spawnHost({}, dir, START)
    expect(host.output()).toContain('storage: sqlite (sqlite:./data/cubby.db)')
    expect((await call(`${host.url}/health`)).body).toEqual({ ok: true })
    expect(await host.stop()).toBe(0)
  })

  it('honours PORT and HOST, and exits 1 with a message when the port is taken', async () => {
    const first = await spawnHost({ HOST: '127.0.0.1', CUBBY_URL: 'memory:' }, dir)
    const port = new URL(first.url).port
    const clash = spawnHost({ PORT: port, CUBBY_URL: 'memory:' }, dir)
    await expect(clash).rejects.toThrow(/exited with 1[\s\S]*cannot listen on 127\.0\.0\.1:\d+/)
    expect(await first.stop()).toBe(0)
  })

  it('reports a bad CUBBY_URL and exits non-zero', async () => {
    await expect(spawnHost({ CUBBY_URL: 'nope://x' }, dir)).rejects.toThrow(/INVALID_CONFIG|unknown scheme/)
  })
})
