import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { EXIT, run as runCli } from '../src/index.js'
import { cli, sharedMemory } from './support/cli.js'

const memory = sharedMemory()
const url = ['--url', 'memory:main']
let dir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cubby-cli-'))
})
afterEach(async () => {
  await (await memory.get('main')).cubby.scope().drop()
})
afterAll(async () => {
  await memory.close()
  await rm(dir, { recursive: true, force: true })
})

const run = (...argv: string[]) => cli([...url, ...argv], { connect: memory.connect })

describe('get / set / delete', () => {
  it('stores JSON and prints it back; the version is printed by set', async () => {
    const set = await run('set', '-s', 'acme/weather', 'city', '{"name":"Oslo","temps":[1,2]}')
    expect(set.code).toBe(0)
    expect(set.stdout.trim()).not.toBe('')
    const get = await run('get', '-s', 'acme/weather', 'city')
    expect(get.code).toBe(0)
    expect(JSON.parse(get.stdout)).toEqual({ name: 'Oslo', temps: [1, 2] })
    const store = (await memory.get('main')).cubby.scope('acme', 'weather')
    expect(await store.get('city')).toEqual({ name: 'Oslo', temps: [1, 2] })
  })

  it('--string stores text as is; numbers stay numbers', async () => {
    await run('set', 'greeting', '--string', '{not json}')
    expect((await run('get', 'greeting')).stdout).toBe('"{not json}"\n')
    expect((await run('get', '--raw', 'greeting')).stdout).toBe('{not json}')
    await run('set', 'n', '9')
    const root = (await memory.get('main')).cubby.scope()
    expect(await root.get('greeting')).toBe('{not json}')
    expect(await root.get('n')).toBe(9)
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
    const stdin = await cli([...url, 'set', 'from-stdin', '--file', '-'], { connect: memory.connect, stdin: bytes })
    expect(stdin.code).toBe(0)
    expect(
      Buffer.from((await (await memory.get('main')).cubby.scope().get('from-stdin')) as Uint8Array).equals(bytes),
    ).toBe(true)
  })

  it('prints non-JSON types readably, and as tagged JSON with --json', async () => {
    const root = (await memory.get('main')).cubby.scope()
    await root.set(
      'when',
      { at: new Date('2024-01-02T03:04:05.000Z'), n: 10n, m: new Map([['a', 1]]) },
      { ttl: 60_000 },
    )
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
    const entry = await (await memory.get('main')).cubby.scope().getEntry('k')
    expect(entry!.expiresAt! - Date.now()).toBeGreaterThan(80_000)
    const conflict = await run('set', 'k', '2', '--if-absent')
    expect(conflict.code).toBe(EXIT.ERROR)
    expect(conflict.stderr).toMatch(/^cubby: CONFLICT: /)
    expect((await run('set', 'k', '3', '--if-version', entry!.version)).code).toBe(0)
    expect((await run('set', 'k', '4', '--ttl', 'soon')).code).toBe(EXIT.USAGE)
  })

  it('get and delete exit 3 for a missing key; delete prints the count', async () => {
    const get = await run('get', 'missing')
    expect(get.code).toBe(EXIT.NOT_FOUND)
    expect(get.stderr).toBe('cubby: NOT_FOUND: no key "missing" in scope []\n')
    await run('set', 'a', '1')
    await run('set', 'b', '2')
    expect(await run('delete', 'a', 'b', 'c')).toMatchObject({ code: 0, stdout: '2\n' })
    expect(await run('delete', 'a')).toMatchObject({ code: EXIT.NOT_FOUND, stdout: '0\n' })
  })

  it('keys that look like options go after --', async () => {
    expect((await run('set', '--', '-dash', '1')).code).toBe(0)
    expect((await run('get', '--', '-dash')).stdout).toBe('1\n')
  })
})

describe('list / scopes / usage', () => {
  it('lists a table, JSON, keys only, with prefix, reverse and a cursor', async () => {
    const store = (await memory.get('main')).cubby.scope('s')
    await store.setMany(Array.from({ length: 5 }, (_, i) => [`k${i}`, { i }] as const))
    await store.set('has space', 'v', { ttl: 60_000 })
    await store.scope('child').set('hidden', 1)
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
    expect(JSON.parse((await run('list', '-s', 'empty', '--json')).stdout)).toEqual([])
  })

  it('--all streams every entry past the default limit', async () => {
    const store = (await memory.get('main')).cubby.scope('many')
    await store.setMany(Array.from({ length: 1234 }, (_, i) => [`k${String(i).padStart(4, '0')}`, i] as const))
    const all = JSON.parse((await run('list', '-s', 'many', '--json', '--all')).stdout)
    expect(all).toHaveLength(1234)
    expect(JSON.parse((await run('list', '-s', 'many', '--json')).stdout)).toHaveLength(100)
  })

  it('prints child scopes as pasteable --scope paths, recursively and as JSON', async () => {
    const { cubby } = await memory.get('main')
    await cubby.scope('ws', 'a/b').set('k', 1)
    await cubby.scope('ws', 'c', 'd').set('k', 1)
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
    const { cubby } = await memory.get('main')
    await cubby.scope('default', 'todo', 'alice').set('t1', 'milk')
    await cubby.scope('default', 'todo').set('shared', 1)
    expect(JSON.parse((await run('usage', '--plugin', 'todo', '--json')).stdout)).toEqual(
      await cubby.scope('default', 'todo').usage(),
    )
    expect((await run('usage', '--plugin', 'todo')).stdout).toMatch(/^keys {3}2\nbytes {2}\d+ \(\d+ B\)\n$/)
  })
})

describe('watch', () => {
  it('streams set and delete events as JSON lines until aborted, then exits 0', async () => {
    const controller = new AbortController()
    const stdout: string[] = []
    let ready!: () => void
    const watching = new Promise<void>((resolve) => {
      ready = resolve
    })
    const stderr = new Writable({
      write(chunk, _e, done) {
        if (String(chunk).startsWith('watching')) ready()
        done()
      },
    })
    const out = new Writable({
      write(chunk, _e, done) {
        stdout.push(...String(chunk).trim().split('\n'))
        done()
      },
    })
    const exit = runCli([...url, 'watch', '-s', 'w', '--values'], {
      stdout: out,
      stderr,
      env: {},
      signal: controller.signal,
      connect: memory.connect,
    })
    await watching
    const store = (await memory.get('main')).cubby.scope('w')
    await store.set('a', { v: 1 })
    await store.delete('a')
    for (let i = 0; i < 200 && stdout.length < 2; i++) await new Promise((r) => setTimeout(r, 5))
    controller.abort()
    expect(await exit).toBe(0)
    const events = stdout.map((line) => JSON.parse(line))
    expect(events.map((e) => [e.type, e.key])).toEqual([
      ['set', 'a'],
      ['delete', 'a'],
    ])
    expect(events[0].value).toEqual({ v: 1 })
  })
})

describe('usage errors and help', () => {
  it('exits 2 with a one-line message, no stack', async () => {
    for (const argv of [
      ['frobnicate'],
      ['get'],
      ['get', 'k', '--bogus'],
      ['set', 'k', '{bad json'],
      ['set', 'k'],
      ['get', '-s', 'a//b', 'k'],
      ['list', '--limit', '0'],
      ['get', '-s', 'a/b/c/d/e/f/g/h/i', 'k'],
    ]) {
      const result = await run(...argv)
      expect(result.code, argv.join(' ')).toBe(EXIT.USAGE)
      expect(result.stderr, argv.join(' ')).toMatch(/^cubby: /)
      expect(result.stderr).not.toMatch(/\n\s+at /)
    }
  })

  it('a bad URL is a usage error naming the field', async () => {
    const result = await cli(['--url', 'nope://x', 'get', 'k'])
    expect(result.code).toBe(EXIT.USAGE)
    expect(result.stderr).toMatch(/^cubby: INVALID_CONFIG: url: unknown scheme/)
  })

  it('--help on every command exits 0', async () => {
    for (const command of ['get', 'set', 'delete', 'list', 'scopes', 'usage', 'watch', 'export', 'import', 'migrate']) {
      const result = await cli([command, '--help'])
      expect(result.code, command).toBe(0)
      expect(result.stdout, command).toContain(`Usage: cubby ${command}`)
    }
    expect((await cli(['--help'])).stdout).toContain('Exit codes')
  })

  it('--option passes backend options; an unknown one is a usage error naming it', async () => {
    expect((await cli(['--url', 'memory:', '--option', 'sweepIntervalMs=1000', 'get', 'k'])).code).toBe(EXIT.NOT_FOUND)
    const bad = await cli(['--url', 'memory:', '--option', 'bogus=1', 'get', 'k'])
    expect(bad.code).toBe(EXIT.USAGE)
    expect(bad.stderr).toMatch(/^cubby: INVALID_CONFIG: bogus: /)
    expect((await cli(['--url', 'memory:', '--option', 'novalue', 'get', 'k'])).code).toBe(EXIT.USAGE)
  })

  it('reads CUBBY_URL', async () => {
    const result = await cli(['get', 'k'], { env: { CUBBY_URL: 'memory:main' }, connect: memory.connect })
    expect(result.code).toBe(EXIT.NOT_FOUND)
  })
})
