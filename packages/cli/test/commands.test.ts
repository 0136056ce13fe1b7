import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { KVStore } from '@cubby/core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { EXIT, run as runCli } from '../src/index.js'
import { BACKENDS, type TestStore, testStore } from './support/backends.js'
import { cli } from './support/cli.js'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cubby-cli-'))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

describe.each(BACKENDS)('commands on %s', (_name, make) => {
  let store: TestStore
  beforeAll(async () => {
    store = await testStore(make)
  })
  afterEach(() => store.reset())
  afterAll(() => store.close())

  const run = (...argv: string[]) => cli(['--url', store.url, ...argv], { connect: store.connect })
  /** The test's own view of a scope, next to the CLI's connections. */
  const scope = (...path: string[]): KVStore => store.connection.cubby.scope(...path)

  describe('get / set / delete', () => {
    it('stores JSON and prints it back; the version is printed by set', async () => {
      const set = await run('set', '-s', 'acme/weather', 'city', '{"name":"Oslo","temps":[1,2]}')
      expect(set.code, set.stderr).toBe(0)
      expect(set.stdout.trim()).toBe((await scope('acme', 'weather').getEntry('city'))!.version)
      const get = await run('get', '-s', 'acme/weather', 'city')
      expect(get.code).toBe(0)
      expect(JSON.parse(get.stdout)).toEqual({ name: 'Oslo', temps: [1, 2] })
      expect(await scope('acme', 'weather').get('city')).toEqual({ name: 'Oslo', temps: [1, 2] })
    })

    it('--string stores text as is; numbers stay numbers', async () => {
      await run('set', 'greeting', '--string', '{not json}')
      expect((await run('get', 'greeting')).stdout).toBe('"{not json}"\n')
      expect((await run('get', '--raw', 'greeting')).stdout).toBe('{not json}')
      await run('set', 'n', '9')
      expect(await scope().get('greeting')).toBe('{not json}')
      expect(await scope().get('n')).toBe(9)
    })

    it('--file stores bytes and get writes them back raw', async () => {
      const bytes = Buffer.from([0, 1, 2, 250, 255, 10, 13])
      const file = join(dir, 'in.bin')
      await writeFile(file, bytes)
      expect((await run('set', '--plugin', 'files', 'data:x', '--file', file)).code).toBe(0)
      const get = await run('get', '--plugin', 'files', 'data:x')
      expect(get.bytes.equals(bytes)).toBe(true)
      const out = join(dir, 'out.bin')
      expect((await run('get', '--plugin', 'files', 'data:x', '--out', out)).code).toBe(0)
      expect((await readFile(out)).equals(bytes)).toBe(true)
      const stdin = await cli(['--url', store.url, 'set', 'from-stdin', '--file', '-'], {
        connect: store.connect,
        stdin: bytes,
      })
      expect(stdin.code).toBe(0)
      expect(Buffer.from((await scope().get('from-stdin')) as Uint8Array).equals(bytes)).toBe(true)
    })

    it('prints non-JSON types readably, and as tagged JSON with --json', async () => {
      const value = { at: new Date('2024-01-02T03:04:05.000Z'), n: 10n, m: new Map([['a', 1]]) }
      await scope().set('when', value, { ttl: 60_000 })
      const text = await run('get', 'when')
      expect(text.stdout).toContain('2024-01-02T03:04:05.000Z')
      expect(text.stdout).toContain('10n')
      const json = JSON.parse((await run('get', '--json', 'when')).stdout)
      expect(json.value).toEqual({
        at: { $date: '2024-01-02T03:04:05.000Z' },
        n: { $bigint: '10' },
        m: { $map: [['a', 1]] },
      })
      expect(json.expiresAt).toBeGreaterThan(Date.now())
      expect(typeof json.version).toBe('string')
    })

    it('--ttl, --if-absent and --if-version', async () => {
      expect((await run('set', 'k', '1', '--ttl', '90s')).code).toBe(0)
      const entry = await scope().getEntry('k')
      expect(entry!.expiresAt! - Date.now()).toBeGreaterThan(60_000)
      const conflict = await run('set', 'k', '2', '--if-absent')
      expect(conflict.code).toBe(EXIT.ERROR)
      expect(conflict.stderr).toMatch(/^cubby: CONFLICT: /)
      expect((await run('set', 'k', '3', '--if-version', entry!.version)).code).toBe(0)
      expect((await run('set', 'k', '4', '--ttl', 'soon')).code).toBe(EXIT.USAGE)
      expect(await scope().get('k')).toBe(3)
    })

    it('get and delete exit 3 for a missing key; delete prints the count', async () => {
      const get = await run('get', 'missing')
      expect(get.code).toBe(EXIT.NOT_FOUND)
      expect(get.stderr).toBe('cubby: NOT_FOUND: no key "missing" in scope []\n')
      await run('set', 'a', '1')
      await run('set', 'b', '2')
      expect(await run('delete', 'a', 'b', 'c')).toMatchObject({ code: 0, stdout: '2\n' })
      expect(await run('delete', 'a')).toMatchObject({ code: EXIT.NOT_FOUND, stdout: '0\n' })
      expect(await scope().has('b')).toBe(false)
    })

    it('keys that look like options go after --', async () => {
      expect((await run('set', '--', '-dash', '1')).code).toBe(0)
      expect((await run('get', '--', '-dash')).stdout).toBe('1\n')
    })
  })

  describe('list / scopes / usage', () => {
    it('lists a table, JSON, keys only, with prefix, reverse and a cursor', async () => {
      const s = scope('s')
      await s.setMany(Array.from({ length: 5 }, (_, i) => [`k${i}`, { i }] as const))
      await s.set('has space', 'v', { ttl: 60_000 })
      await s.scope('child').set('hidden', 1)
      const table = await run('list', '-s', 's')
      expect(table.stdout.split('\n')[0]).toMatch(/^KEY\s+VALUE\s+EXPIRES$/)
      expect(table.stdout).toContain('"has space"')
      expect(table.stdout).not.toContain('hidden')
      const json = JSON.parse((await run('list', '-s', 's', '--json', '--prefix', 'k', '--reverse')).stdout)
      expect(json.map((e: { key: string }) => e.key)).toEqual(['k4', 'k3', 'k2', 'k1', 'k0'])
      expect(json[0].value).toEqual({ i: 4 })
      const page = await run('list', '-s', 's', '--keys-only', '--limit', '2')
      const rows = page.stdout.split('\n').slice(1, 3)
      expect(rows[0]).toMatch(/^"has space" +\S/)
      expect(rows[1]).toMatch(/^k0 +- *$/)
      const cursor = /--cursor (\S+)/.exec(page.stderr)![1]!
      const next = JSON.parse((await run('list', '-s', 's', '--json', '--limit', '2', '--cursor', cursor)).stdout)
      expect(next.map((e: { key: string }) => e.key)).toEqual(['k1', 'k2'])
    })

    it('an empty scope lists as [] or "(no keys)" on stderr, without a bare header', async () => {
      await scope('other').set('k', 1) // the store exists, the scope is empty
      expect(JSON.parse((await run('list', '-s', 'empty', '--json')).stdout)).toEqual([])
      expect(await run('list', '-s', 'empty')).toMatchObject({ code: 0, stdout: '', stderr: '(no keys)\n' })
    })

    it('--all streams every entry past the default limit', async () => {
      await scope('many').setMany(
        Array.from({ length: 1234 }, (_, i) => [`k${String(i).padStart(4, '0')}`, i] as const),
      )
      const all = JSON.parse((await run('list', '-s', 'many', '--json', '--all')).stdout)
      expect(all).toHaveLength(1234)
      expect(JSON.parse((await run('list', '-s', 'many', '--json')).stdout)).toHaveLength(100)
    })

    it('prints child scopes as pasteable --scope paths, recursively and as JSON', async () => {
      await scope('ws', 'a/b').set('k', 1)
      await scope('ws', 'c', 'd').set('k', 1)
      expect((await run('scopes')).stdout).toBe('ws\n')
      expect((await run('scopes', '-r')).stdout).toBe('ws\nws/a%2Fb\nws/c\nws/c/d\n')
      expect(JSON.parse((await run('scopes', '-r', '--json', '-s', 'ws')).stdout)).toEqual([
        ['ws', 'a/b'],
        ['ws', 'c'],
        ['ws', 'c', 'd'],
      ])
      expect((await run('get', '-s', 'ws/a%2Fb', 'k')).stdout).toBe('1\n')
    })

    it('usage counts a scope and its descendants', async () => {
      await scope('default', 'todo', 'alice').set('t1', 'milk')
      await scope('default', 'todo').set('shared', 1)
      expect(JSON.parse((await run('usage', '--plugin', 'todo', '--json')).stdout)).toEqual(
        await scope('default', 'todo').usage(),
      )
      expect((await run('usage', '--plugin', 'todo')).stdout).toMatch(/^keys {3}2\nbytes {2}\d+ \(\d+ B\)\n$/)
    })
  })

  describe('watch', () => {
    it('streams set and delete events as JSON lines until aborted, then exits 0', async () => {
      const controller = new AbortController()
      const lines: string[] = []
      let watching!: () => void
      const ready = new Promise<void>((resolve) => {
        watching = resolve
      })
      const waiters: { count: number; wake: () => void }[] = []
      /** Resolves once `count` lines have arrived. */
      const linesArrived = (count: number) =>
        new Promise<void>((wake) => {
          waiters.push({ count, wake })
          check()
        })
      const check = () => {
        for (const waiter of waiters) if (lines.length >= waiter.count) waiter.wake()
      }
      const stderr = new Writable({
        write(chunk, _e, done) {
          if (String(chunk).startsWith('watching')) watching()
          done()
        },
      })
      const stdout = new Writable({
        write(chunk, _e, done) {
          lines.push(...String(chunk).trim().split('\n'))
          check()
          done()
        },
      })
      const exit = runCli(['--url', store.url, 'watch', '-s', 'w', '--values'], {
        stdout,
        stderr,
        env: {},
        signal: controller.signal,
        connect: store.connect,
      })
      await ready
      // Each event arrives within the backend's delivery time (SQLite polls, Redis uses pub/sub): wait for it, with
      // the test timeout as the bound. Waiting before the delete lets --values read the value that was set.
      await scope('w').set('a', { v: 1 })
      await linesArrived(1)
      await scope('w').delete('a')
      await linesArrived(2)
      controller.abort()
      expect(await exit).toBe(0)
      const events = lines.map((line) => JSON.parse(line))
      expect(events.map((e) => [e.type, e.key])).toEqual([
        ['set', 'a'],
        ['delete', 'a'],
      ])
      expect(events[0].value).toEqual({ v: 1 })
    })
  })
})
