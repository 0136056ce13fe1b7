import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { assertFreshDist } from '@cubby/conformance'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect, EXIT } from '../src/index.js'
import { BUILT_PACKAGES, runCubby as cubby, startCubby } from './support/spawn.js'

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** A SQLite store with `count` small entries in scope `big`, for jobs that take a while. */
async function filledStore(file: string, count: number): Promise<string> {
  const url = `sqlite:${file}`
  const { cubby, close } = await connect(url)
  const store = cubby.scope('big')
  for (let i = 0; i < count; i += 1000) {
    await store.setMany(Array.from({ length: 1000 }, (_, j) => [`k${i + j}`, 'x'.repeat(100)] as const))
  }
  await close()
  return url
}

let dir: string
beforeAll(async () => {
  assertFreshDist(BUILT_PACKAGES)
  dir = await mkdtemp(join(tmpdir(), 'cubby-bin-'))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

describe('the built cubby binary', () => {
  it('prints help and its version', async () => {
    const help = await cubby(['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('Usage: cubby')
    expect((await cubby(['--version'])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/)
  })

  it('sets, gets, exports and imports through pipes, on the SQLite default under ./data', async () => {
    const set = await cubby(['set', '-s', 'a/b', 'k', '{"n":1}'], { cwd: dir })
    expect(set.code, set.stderr).toBe(0)
    expect(existsSync(join(dir, 'data', 'cubby.db'))).toBe(true)
    expect((await cubby(['get', '-s', 'a/b', 'k'], { cwd: dir })).stdout).toBe('{\n  "n": 1\n}\n')
    const exported = await cubby(['export'], { cwd: dir })
    expect(exported.code).toBe(0)
    const other = `sqlite:${join(dir, 'other.db')}`
    const imported = await cubby(['import', '-'], { cwd: dir, stdin: exported.stdout, env: { CUBBY_URL: other } })
    expect(imported).toMatchObject({ code: 0, stdout: 'imported 1 entries into []\n' })
    expect((await cubby(['--url', other, 'get', '-s', 'a/b', 'k'])).code).toBe(0)
  })

  it('exit codes: 3 not found, 2 usage, 1 backend down or no such store; one line, no stack trace', async () => {
    const missing = await cubby(['get', 'nope'], { cwd: dir })
    expect(missing).toMatchObject({ code: 3, stderr: 'cubby: NOT_FOUND: no key "nope" in scope []\n' })
    const usage = await cubby(['list', '--bogus'], { cwd: dir })
    expect(usage.code).toBe(2)
    expect(usage.stderr).toMatch(/^cubby: USAGE: unknown option '--bogus'/)
    const url = `redis://127.0.0.1:${await closedPort()}`
    const down = await cubby(['--url', url, '--option', 'connectTimeoutMs=300', 'get', 'k'])
    expect(down.code).toBe(1)
    expect(down.stderr).toMatch(/^cubby: BACKEND: cannot connect to Redis/)
    const typo = await cubby(['--url', 'sqlite:./dat/cubby.db', 'export'], { cwd: dir })
    expect(typo).toMatchObject({ code: 1, stdout: '' })
    expect(typo.stderr).toMatch(/^cubby: NO_SUCH_STORE: sqlite file \.\/dat\/cubby\.db does not exist/)
    expect(existsSync(join(dir, 'dat'))).toBe(false)
    for (const result of [missing, usage, down, typo]) expect(result.stderr).not.toMatch(/\n\s+at /)
  })

  it("watch on SQLite streams another process's writes until SIGINT, then exits 0", async () => {
    const url = `sqlite:${join(dir, 'watch.db')}`
    expect((await cubby(['--url', url, 'set', '-s', 'feed', 'seed', '0'])).code).toBe(0)
    const watch = startCubby(['--url', url, 'watch', '-s', 'feed', '--values'])
    try {
      await watch.waitFor(/watching scope \["feed"\]/, 'stderr')
      expect((await cubby(['--url', url, 'set', '-s', 'feed', 'k', '{"n":1}'])).code).toBe(0)
      await watch.waitFor(/"type":"set","key":"k"/)
      expect((await cubby(['--url', url, 'delete', '-s', 'feed', 'k'])).code).toBe(0)
      await watch.waitFor(/"type":"delete","key":"k"/)
      watch.child.kill('SIGINT')
      expect(await watch.exited).toBe(0)
    } finally {
      watch.child.kill('SIGKILL')
    }
    const events = watch
      .stdout()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
    expect(events.map((e) => [e.type, e.key, e.value])).toEqual([
      ['set', 'k', { n: 1 }],
      ['delete', 'k', undefined],
    ])
  })

  it('SIGTERM stops an export stalled on a slow reader with 143; a closed pipe exits 141', async () => {
    const url = await filledStore(join(dir, 'big.db'), 20_000)
    // Read the first chunk, then stop reading: the pipe fills and the export waits for it to drain.
    const stalled = startCubby(['--url', url, 'export'])
    await stalled.waitFor(/"cubby":"export"/)
    stalled.child.stdout.pause()
    stalled.child.kill('SIGTERM')
    expect(await stalled.exited).toBe(EXIT.TERMINATED)
    expect(stalled.stderr()).toBe('cubby: INTERRUPTED: stopped before finishing\n')
    // The reader goes away (`cubby export | head -c 100`): EPIPE, exit 141, no stack trace.
    const piped = startCubby(['--url', url, 'export'])
    await piped.waitFor(/"cubby":"export"/)
    piped.child.stdout.destroy()
    expect(await piped.exited).toBe(EXIT.BROKEN_PIPE)
    expect(piped.stderr()).toBe('')
  })
})
