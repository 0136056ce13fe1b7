import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { openCubby } from '@cubby/core'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { JOURNAL_SIZE_LIMIT } from '../src/open.js'
import { fileFromUrl, resolveOptions } from '../src/options.js'
import { SCHEMA_VERSION } from '../src/schema.js'
import { exited, fixture, openSqlite, tempDir } from './support.js'

const dir = tempDir()

describe('opening', () => {
  it('parses sqlite: URLs', () => {
    expect(fileFromUrl('sqlite:./data/cubby.db')).toBe('./data/cubby.db')
    expect(fileFromUrl('sqlite:/abs/x.db')).toBe('/abs/x.db')
    expect(fileFromUrl('sqlite:///abs/x.db')).toBe('/abs/x.db')
    expect(fileFromUrl('sqlite::memory:')).toBe(':memory:')
    expect(fileFromUrl('sqlite:./a%20b.db')).toBe('./a b.db')
    expect(() => fileFromUrl('sqlite:')).toThrow(/file path/)
    expect(() => fileFromUrl('sqlite:x.db?mode=ro')).toThrow(/query/)
  })

  it('validates options, naming the field', () => {
    expect(() => resolveOptions('x', { durability: 'fast' }, 1000)).toThrow(/durability/)
    expect(() => resolveOptions('x', { busyTimeoutMs: -1 }, 1000)).toThrow(/busyTimeoutMs/)
    expect(() => resolveOptions('x', { colour: 1 }, 1000)).toThrow(/colour/)
    expect(resolveOptions('x', {}, 1000)).toMatchObject({ durability: 'normal', busyTimeoutMs: 800 })
    expect(resolveOptions('x', {}, 60_000)).toMatchObject({ busyTimeoutMs: 5000 })
  })

  it('keeps lock waits inside timeoutMs: busyTimeoutMs must be below it (capabilities.timeouts holds)', async () => {
    expect(() => resolveOptions('x', { busyTimeoutMs: 3000 }, 500)).toThrow(/busyTimeoutMs.*below timeoutMs/)
    expect(() => resolveOptions('x', { busyTimeoutMs: 500 }, 500)).toThrow(/busyTimeoutMs/)
    await expect(
      openCubby({ url: `sqlite:${join(dir, 'busy.db')}`, timeoutMs: 500, busyTimeoutMs: 3000 }),
    ).rejects.toMatchObject({ code: 'INVALID_CONFIG', field: 'busyTimeoutMs' })
    const cubby = await openCubby({ url: `sqlite:${join(dir, 'busy.db')}`, timeoutMs: 500, busyTimeoutMs: 400 })
    expect(cubby.backend.capabilities.timeouts).toBe(true)
    await cubby.close()
  })

  it('opens ./data/cubby.db by default, creating the folder', async () => {
    const cwd = join(dir, 'default-cwd')
    mkdirSync(cwd)
    const child = fixture('default-path.mjs', [], { cwd })
    let out = ''
    child.stdout?.on('data', (chunk) => {
      out += chunk
    })
    await exited(child)
    expect(out.trim()).toBe('sqlite')
    expect(
      readFileSync(join(cwd, 'data', 'cubby.db'))
        .subarray(0, 15)
        .toString(),
    ).toBe('SQLite format 3')
  })

  it('sets WAL, the durability level, the WAL size limit and the schema version', async () => {
    for (const [durability, level] of [
      ['normal', 1],
      ['strict', 2],
    ] as const) {
      const file = join(dir, `pragmas-${durability}.db`)
      const { cubby, internals } = await openSqlite(file, { durability })
      await cubby.scope('s').set('k', 1)
      const raw = new Database(file)
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal')
      expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION)
      raw.close()
      // synchronous, journal_size_limit and busy_timeout are per connection: read the backend's own
      expect(internals.db.pragma('synchronous', { simple: true })).toBe(level)
      expect(internals.db.pragma('journal_size_limit', { simple: true })).toBe(JOURNAL_SIZE_LIMIT)
      expect(internals.db.pragma('busy_timeout', { simple: true })).toBe(0) // lock waits happen on timers
      await cubby.close()
    }
  })

  it('lets two processes create a new file at once: one migrates, both work', async () => {
    for (let trial = 0; trial < 3; trial++) {
      const file = join(dir, `race-${trial}.db`)
      const children = Array.from({ length: 4 }, (_, i) => fixture('open-race.mjs', [file, `p${i}`]))
      await Promise.all(children.map(exited))
      const cubby = await openCubby(`sqlite:${file}`)
      expect(await cubby.scope('race').getMany(['p0', 'p1', 'p2', 'p3'])).toEqual(['p0', 'p1', 'p2', 'p3'])
      expect(await cubby.scope('race').usage()).toMatchObject({ keys: 4 })
      await cubby.close()
    }
  })
})
