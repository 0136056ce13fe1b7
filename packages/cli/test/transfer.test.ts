import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { type CustomType, openCubby } from '@cubby/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect, EXIT, exportStore, run } from '../src/index.js'
import { memoryBackend, redisBackend, sqliteBackend, type TestBackend } from './support/backends.js'
import { cli } from './support/cli.js'
import { DATASET_SIZE, fillDataset, richValues, snapshot } from './support/dataset.js'
import { slowReader } from './support/streams.js'

/** A class the CLI knows nothing about, stored through a custom type. */
class Point {
  constructor(readonly x: number) {}
}

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cubby-cli-transfer-'))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

const backends: [string, () => Promise<TestBackend>][] = [
  ['memory', async () => memoryBackend()],
  ['sqlite', sqliteBackend],
  ['redis', redisBackend],
]

describe.each(backends)('export -> import on %s', (_name, make) => {
  let backend: TestBackend
  beforeAll(async () => {
    backend = await make()
  })
  afterAll(() => backend.close())
  const run = (url: string, ...argv: string[]) => cli(['--url', url, ...argv], { connect: backend.connect })

  it('round-trips every value, byte, key, scope and TTL exactly', async () => {
    const from = await backend.fresh()
    const source = await backend.open(from)
    await fillDataset(source.cubby)
    const file = join(dir, `${backend.name}-all.jsonl`)
    const exported = await run(from, 'export', '--out', file)
    expect(exported.code, exported.stderr).toBe(0)
    expect(exported.stderr).toContain(`exported ${DATASET_SIZE} entries`)

    const to = await backend.fresh()
    const imported = await run(to, 'import', file)
    expect(imported.code, imported.stderr).toBe(0)
    expect(imported.stdout).toBe(`imported ${DATASET_SIZE} entries into []\n`)

    const target = await backend.open(to)
    const expected = await snapshot(source.cubby)
    expect(expected).toHaveLength(DATASET_SIZE)
    expect(await snapshot(target.cubby)).toEqual(expected)
    // Decoded values are equal too (types preserved: -0, NaN, BigInt, Map, bytes...).
    const values = richValues()
    for (const key of Object.keys(values)) {
      expect(await target.cubby.scope().get(key), key).toEqual(await source.cubby.scope().get(key))
    }
    expect(Object.is(await target.cubby.scope().get('negZero'), -0)).toBe(true)
    expect(Buffer.isBuffer(await target.cubby.scope().get('buffer'))).toBe(true)
    expect(Buffer.isBuffer(await target.cubby.scope().get('bytes'))).toBe(false)
    await source.close()
    await target.close()
  })

  it('exports a subtree and imports it elsewhere (--scope / --plugin)', async () => {
    const from = await backend.fresh()
    const source = await backend.open(from)
    await source.cubby.scope('default', 'todo', 'alice').set('t1', 'milk')
    await source.cubby.scope('default', 'todo').set('count', 1)
    await source.cubby.scope('default', 'other').set('x', 1)
    const exported = await run(from, 'export', '--plugin', 'todo')
    expect(exported.code).toBe(0)
    expect(exported.stdout.split('\n')[0]).toContain('"root":["default","todo"]')

    const to = await backend.fresh()
    const imported = await cli(['--url', to, 'import', '-', '--scope', 'copy/todo2'], {
      connect: backend.connect,
      stdin: exported.stdout,
    })
    expect(imported.code, imported.stderr).toBe(0)
    const target = await backend.open(to)
    expect(await target.cubby.scope('copy', 'todo2', 'alice').get('t1')).toBe('milk')
    expect(await target.cubby.scope('copy', 'todo2').get('count')).toBe(1)
    expect((await target.cubby.scope().usage()).keys).toBe(2)
    // Without a scope option, data goes back where it came from.
    const back = await cli(['--url', to, 'import', '-'], { connect: backend.connect, stdin: exported.stdout })
    expect(back.code).toBe(0)
    expect(await target.cubby.scope('default', 'todo', 'alice').get('t1')).toBe('milk')
    await source.close()
    await target.close()
  })
})

describe('import checks its input', () => {
  const backend = memoryBackend()
  afterAll(() => backend.close())
  const header = '{"cubby":"export","version":1,"root":[],"value":"base64"}'
  const value = (v: unknown) =>
    Buffer.concat([Buffer.from([1, 0x6a]), Buffer.from(JSON.stringify(v))]).toString('base64')
  const line = (key: string, v: unknown, expiresAt?: number) =>
    JSON.stringify({ scope: ['s'], key, value: value(v), ...(expiresAt === undefined ? {} : { expiresAt }) })
  const importText = async (text: string, ...argv: string[]) => {
    const url = await backend.fresh()
    const result = await cli(['--url', url, 'import', '-', ...argv], { connect: backend.connect, stdin: text })
    return { ...result, store: (await backend.open(url)).cubby.scope('s') }
  }

  it('skips and counts entries whose TTL has passed', async () => {
    const now = Date.now()
    const text = [
      header,
      line('old', 1, now - 1000),
      line('new', 2, now + 60_000),
      line('plain', 3),
      '{"cubby":"end","entries":3}',
    ].join('\n')
    const result = await importText(text, '--json')
    expect(result.code, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout)).toEqual({ imported: 2, expired: 1, root: [] })
    expect(await result.store.get('old')).toBeUndefined()
    expect((await result.store.getEntry('new'))!.expiresAt).toBe(now + 60_000)
    expect(await result.store.get('plain')).toBe(3)
  })

  it('a truncated file (no end line, wrong count) exits 4 after importing what it holds', async () => {
    const truncated = await importText([header, line('a', 1), line('b', 2)].join('\n'))
    expect(truncated.code).toBe(EXIT.MISMATCH)
    expect(truncated.stderr).toMatch(/^cubby: TRUNCATED: standard input has no end line/)
    expect(await truncated.store.get('b')).toBe(2)
    const miscounted = await importText([header, line('a', 1), '{"cubby":"end","entries":5}'].join('\n'))
    expect(miscounted.code).toBe(EXIT.MISMATCH)
    expect(miscounted.stderr).toContain('says it holds 5 entries but 1 were read')
  })

  it('a malformed line exits 1 and names the line', async () => {
    const cases: [string, RegExp][] = [
      [[header, line('a', 1), '{oops'].join('\n'), /line 3: is not JSON/],
      ['{"hello":1}', /line 1: is not a cubby export header/],
      [
        [header, JSON.stringify({ scope: ['s'], key: '', value: value(1) })].join('\n'),
        /INVALID_KEY: .*line 2: key "" must not be empty/,
      ],
      [[header, JSON.stringify({ scope: [''], key: 'k', value: value(1) })].join('\n'), /INVALID_SCOPE: .*line 2/],
      [[header, JSON.stringify({ scope: ['s'], key: 'k', value: 'AQ==' })].join('\n'), /INVALID_VALUE: .*line 2/],
      ['', /is empty/],
    ]
    for (const [text, message] of cases) {
      const result = await importText(text)
      expect(result.code, text).toBe(EXIT.ERROR)
      expect(result.stderr, text).toMatch(message)
    }
  })

  it('a malformed line says how many entries before it were imported (all of them)', async () => {
    const lines = Array.from({ length: 1201 }, (_, i) => line(`k${i}`, i))
    const result = await importText([header, ...lines, '{oops', line('after', 1)].join('\n'))
    expect(result.code).toBe(EXIT.ERROR)
    expect(result.stderr).toBe(
      'cubby: BAD_LINE: standard input line 1203: is not JSON; the 1201 entries before it were imported; ' +
        'fix the line and import again (keys are overwritten)\n',
    )
    expect((await result.store.usage()).keys).toBe(1201)
    expect(await result.store.get('after')).toBeUndefined()
  })

  it('a value whose JSON text does not parse names its line and writes every entry before it', async () => {
    for (const text of ['{oops', '0x10', '00012', '[1,]', 'NaN']) {
      const bad = JSON.stringify({
        scope: ['s'],
        key: 'bad',
        value: Buffer.from(`\x01j${text}`, 'latin1').toString('base64'),
      })
      const lines = Array.from({ length: 3 }, (_, i) => line(`k${i}`, i))
      const result = await importText([header, ...lines, bad, line('after', 1)].join('\n'))
      expect(result.code, text).toBe(EXIT.ERROR)
      expect(result.stderr, text).toMatch(
        /^cubby: INVALID_VALUE: standard input line 5: .*; the 3 entries before it were imported; /,
      )
      expect((await result.store.usage()).keys, text).toBe(3)
    }
  })

  it('--dry-run checks the whole file and writes nothing', async () => {
    const good = [header, line('a', 1), line('b', 2), '{"cubby":"end","entries":2}'].join('\n')
    const checked = await importText(good, '--dry-run')
    expect(checked).toMatchObject({
      code: 0,
      stdout: 'checked: would import 2 entries into [] (dry run: nothing was written)\n',
    })
    expect((await checked.store.usage()).keys).toBe(0)
    const bad = await importText(
      [header, line('a', 1), JSON.stringify({ scope: ['s'], key: '', value: value(1) })].join('\n'),
      '--dry-run',
    )
    expect(bad.code).toBe(EXIT.ERROR)
    expect(bad.stderr).toMatch(/line 3: .*; nothing was written \(--dry-run\)\n$/)
    expect((await bad.store.usage()).keys).toBe(0)
  })

  it('a missing file is an error, not a crash', async () => {
    const result = await cli(['--url', 'memory:', 'import', join(dir, 'nope.jsonl')])
    expect(result.code).toBe(EXIT.ERROR)
    expect(result.stderr).toMatch(/^cubby: ENOENT: no such file or directory, /)
  })
})

describe('export', () => {
  it('stops when aborted and exits 130, leaving no end line', async () => {
    const backend = memoryBackend()
    const url = await backend.fresh()
    const { cubby } = await backend.open(url)
    for (let i = 0; i < 5; i++) await cubby.scope(`s${i}`).set('k', i)
    const controller = new AbortController()
    const out = new Writable({
      write(_chunk, _e, done) {
        controller.abort() // the reader goes away after the first chunk
        done()
      },
    })
    const stderr: string[] = []
    const err = new Writable({
      write(chunk, _e, done) {
        stderr.push(String(chunk))
        done()
      },
    })
    const code = await run(['--url', url, 'export'], {
      stdout: out,
      stderr: err,
      signal: controller.signal,
      connect: backend.connect,
    })
    expect(code).toBe(EXIT.INTERRUPTED)
    expect(stderr.join('')).toBe('cubby: INTERRUPTED: stopped before finishing\n')
    await backend.close()
  })

  it('waits for a slow reader: memory stays at about one page, whatever the size', async () => {
    const { cubby, close } = await connect('memory:')
    const store = cubby.scope('big')
    for (let i = 0; i < 20; i++) {
      await store.setMany(Array.from({ length: 1000 }, (_, j) => [`k${i}-${j}`, 'x'.repeat(200)] as const))
    }
    const slow = slowReader(16 * 1024)
    const stats = await exportStore(cubby, slow, {})
    expect(stats.entries).toBe(20_000)
    expect(slow.bytes()).toBeGreaterThan(20_000 * 200)
    // One page (at most 1000 lines of ~300 bytes) plus the stream's own buffer, never the whole export (~6 MB).
    expect(slow.maxQueued()).toBeLessThan(400 * 1024)
    await close()
  })

  it('custom-type values round-trip byte for byte; import needs --no-check-values to skip decoding them', async () => {
    const point: CustomType<Point> = {
      name: 'point',
      isApplicable: (v): v is Point => v instanceof Point,
      serialize: (v) => ({ x: v.x }),
      deserialize: (json) => new Point((json as { x: number }).x),
    }
    const sqlite = await sqliteBackend()
    const from = await sqlite.fresh()
    const source = await openCubby({ url: from, types: [point] })
    await source.scope('p').set('origin', new Point(3))
    await source.close()
    const file = join(dir, 'custom.jsonl')
    expect((await cli(['--url', from, 'export', '--out', file])).code).toBe(0)
    const to = await sqlite.fresh()
    const checked = await cli(['--url', to, 'import', file])
    expect(checked.code).toBe(EXIT.ERROR)
    expect(checked.stderr).toContain('--no-check-values')
    expect((await cli(['--url', to, 'import', file, '--no-check-values'])).code).toBe(0)
    const target = await openCubby({ url: to, types: [point] })
    expect(await target.scope('p').get('origin')).toEqual(new Point(3))
    await target.close()
    expect((await readFile(file, 'utf8')).split('\n')).toHaveLength(4) // header, entry, trailer, final newline
    await sqlite.close()
  })
})

describe('byte-level access goes through core (@cubby/core/raw)', () => {
  it('export and import of a closed cubby are refused by the engine, not run on a closed backend', async () => {
    const { cubby, close } = await connect('memory:')
    await cubby.scope('s').set('k', 1)
    await close()
    await expect(exportStore(cubby, new Writable({ write: (_c, _e, done) => done() }))).rejects.toMatchObject({
      code: 'CLOSED',
    })
  })
})
