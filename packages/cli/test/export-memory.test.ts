import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Backend, StoredEntry } from '@cubby/core/backend'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Connection, EXIT, exportStore, migrateStore, run } from '../src/index.js'
import {
  BACKENDS,
  memoryBackend,
  openCapturing,
  over,
  type TestBackend,
  type TestConnection,
} from './support/backends.js'
import { collector } from './support/cli.js'
import { slowReader } from './support/streams.js'

const MiB = 1024 * 1024

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cubby-cli-export-'))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

/** A view of `backend` that records the most value bytes any one `get` or `list` call returned. */
function measured(backend: Backend): { backend: Backend; maxBytes(): number } {
  let max = 0
  const note = (rows: (StoredEntry | undefined)[]) => {
    max = Math.max(
      max,
      rows.reduce((sum, row) => sum + (row?.value?.byteLength ?? 0), 0),
    )
    return rows
  }
  const view: Backend = Object.create(backend)
  view.get = async (scope, keys, options) => note(await backend.get(scope, keys, options))
  view.list = async (scope, query) => note(await backend.list(scope, query)) as StoredEntry[]
  return { backend: view, maxBytes: () => max }
}

describe.each(BACKENDS)('export memory on %s, with small keys first and large values after', (_name, make) => {
  let backend: TestBackend
  let url: string
  let source: TestConnection
  beforeAll(async () => {
    backend = await make()
    url = await backend.fresh()
    source = await backend.open(url)
    // The file drop's layout: many small entries (meta:*), then large ones (data:*) in the same scope.
    const files = source.cubby.scope('files')
    await files.setMany(Array.from({ length: 1000 }, (_, i) => [`a-meta:${String(i).padStart(4, '0')}`, i] as const))
    for (let i = 0; i < 40; i++) await files.set(`b-data:${String(i).padStart(2, '0')}`, Buffer.alloc(MiB, i))
  })
  afterAll(async () => {
    await source.close()
    await backend.close()
  })

  it('no read holds more than fetchBytes of values, and the output holds at most one line beyond its buffer', async () => {
    const reads = measured(source.backend)
    const out = slowReader(64 * 1024)
    // A 4 MiB budget: a read ends with the value that reaches it, whatever came before (1 MiB values here).
    const stats = await exportStore((await over(reads.backend)).cubby, out, { fetchBytes: 4 * MiB })
    expect(stats).toEqual({ entries: 1040, scopes: 1 })
    expect(out.bytes()).toBeGreaterThan(40 * MiB * 1.33)
    expect(reads.maxBytes()).toBeGreaterThan(MiB) // it did read several large values at once...
    expect(reads.maxBytes()).toBeLessThan(4 * MiB + MiB + 64) // ...but never more than the budget plus one value
    // One entry line is ~1.4 MB of base64; the reader's buffer is 64 KiB. The whole export is ~56 MB.
    expect(out.maxQueued()).toBeLessThan(1.5 * MiB + 64 * 1024)
  })

  it('migrate and verify read within the same budget (verify splits it between the two sides)', async () => {
    const target = memoryBackend()
    const to = await target.open(await target.fresh())
    const reads = measured(source.backend)
    const from: Connection = await over(reads.backend)
    const report = await migrateStore(from, to, { fetchBytes: 8 * MiB })
    expect(report.verify).toMatchObject({ matched: 1040, missing: 0, different: 0, extra: 0 })
    expect(reads.maxBytes()).toBeLessThan(8 * MiB + MiB + 64)
    await target.close()
  })
})

describe('export --out', () => {
  /** A connection whose backend calls `trip` on its second read, to fail or interrupt an export mid-way. */
  async function tripping(trip: () => void): Promise<Connection> {
    const real = await openCapturing('memory:')
    const store = real.cubby.scope('s')
    for (let i = 0; i < 5; i++) await store.scope(`c${i}`).setMany([['k', i]])
    let reads = 0
    const backend: Backend = Object.create(real.backend)
    backend.list = async (scope, query) => {
      if (++reads === 2) trip()
      return real.backend.list(scope, query)
    }
    return { ...(await over(backend)), close: () => real.close() }
  }
  const backups = async () => (await readdir(dir)).filter((name) => name.startsWith('backup.jsonl')).sort()

  it('an interrupted or failed export leaves the previous file as it was, and no temporary file', async () => {
    const file = join(dir, 'backup.jsonl')
    await writeFile(file, 'the previous backup\n')
    const controller = new AbortController()
    const interrupted = await tripping(() => controller.abort())
    const stderr = collector()
    const code = await run(['export', '--out', file], {
      stdout: collector(),
      stderr,
      signal: controller.signal,
      connect: async () => interrupted,
    })
    expect(code).toBe(EXIT.INTERRUPTED)
    expect(await readFile(file, 'utf8')).toBe('the previous backup\n')
    expect(await backups()).toEqual(['backup.jsonl'])

    const failing = await tripping(() => {
      throw new Error('disk on fire')
    })
    const failed = collector()
    expect(
      await run(['export', '--out', file], { stdout: collector(), stderr: failed, connect: async () => failing }),
    ).toBe(EXIT.ERROR)
    expect(failed.text()).toMatch(/^cubby: BACKEND: .*disk on fire/)
    expect(await readFile(file, 'utf8')).toBe('the previous backup\n')
    expect(await backups()).toEqual(['backup.jsonl'])
  })

  it('a complete export replaces the file', async () => {
    const file = join(dir, 'backup.jsonl')
    await writeFile(file, 'the previous backup\n')
    const done = await tripping(() => {})
    const stderr = collector()
    expect(await run(['export', '--out', file], { stdout: collector(), stderr, connect: async () => done })).toBe(0)
    expect(stderr.text()).toBe(`exported 5 entries in 5 scopes of [] to ${file}\n`)
    expect((await readFile(file, 'utf8')).trimEnd().split('\n').pop()).toBe('{"cubby":"end","entries":5}')
    expect(await backups()).toEqual(['backup.jsonl'])
    await done.close()
  })

  it('a folder that does not exist is an error before anything is read', async () => {
    const result = collector()
    const code = await run(['--url', 'memory:', 'export', '--out', join(dir, 'no', 'such', 'file.jsonl')], {
      stdout: collector(),
      stderr: result,
    })
    expect(code).toBe(EXIT.ERROR)
    expect(result.text()).toMatch(/^cubby: ENOENT: no such file or directory/)
  })
})
