import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { openCubby } from '@cubby/core'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { fileFromUrl, resolveOptions } from '../src/options.js'
import { SCHEMA_VERSION } from '../src/schema.js'
import { exited, fixture, tempDir } from './support.js'

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
    expect(resolveOptions('x', {}, 1000)).toMatchObject({ durability: 'normal', busyTimeoutMs: 1000 })
  })

  it('opens ./data/cubby.db by default, creating the folder', async () => {
    const cwd = join(dir, 'default-cwd')
    const { mkdirSync } = await import('node:fs')
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

  it('sets WAL, the durability level and the schema version', async () => {
    for (const [durability, level] of [
      ['normal', 1],
      ['strict', 2],
    ] as const) {
      const file = join(dir, `pragmas-${durability}.db`)
      const cubby = await openCubby({ url: `sqlite:${file}`, durability })
      await cubby.scope('s').set('k', 1)
      const raw = new Database(file)
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal')
      expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION)
      raw.close()
      // synchronous is per connection: check the backend's own through a fresh open of the same options
      const { SqliteBackend } = await import('../src/sqlite-backend.js')
      const backend = new SqliteBackend(resolveOptions(file, { durability }, 1000), Date.now)
      expect((backend as unknown as { db: Database.Database }).db.pragma('synchronous', { simple: true })).toBe(level)
      await backend.close()
      await cubby.close()
    }
  })
})

describe('group commit', () => {
  it('fails only the caller whose write is invalid; the rest of the batch commits', async () => {
    const cubby = await openCubby({
      url: `sqlite:${join(dir, 'batch.db')}`,
      quotas: { scopes: [{ path: ['q'], maxKeys: 1 }] },
    })
    const store = cubby.scope('s')
    const stale = await store.set('cas', 1)
    await store.set('cas', 2)
    await store.set('text', 'not a number')
    await cubby.scope('q').set('only', 1)
    const outcomes = await Promise.allSettled([
      store.set('a', 1),
      store.set('cas', 3, { ifVersion: stale }),
      store.incr('text'),
      cubby.scope('q').set('second', 1),
      store.set('b', 2),
      store.incr('n', 5),
    ])
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? 'ok' : (o.reason as { code: string }).code))).toEqual([
      'ok',
      'CONFLICT',
      'INVALID_VALUE',
      'QUOTA_EXCEEDED',
      'ok',
      'ok',
    ])
    expect(await store.getMany(['a', 'b', 'cas', 'n', 'text'])).toEqual([1, 2, 2, 5, 'not a number'])
    await cubby.close()
  })
})

describe('indexes', () => {
  it('answers every scope operation through an index, never a table scan', async () => {
    const file = join(dir, 'plans.db')
    const cubby = await openCubby(`sqlite:${file}`)
    await cubby.scope('a', 'b').set('k', 1)
    await cubby.close()
    const raw = new Database(file)
    const plan = (sql: string, ...params: unknown[]) =>
      (raw.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>)
        .map((r) => r.detail)
        .join('; ')
    const queries = [
      ['SELECT key, value FROM entries WHERE scope = ? AND key > ? ORDER BY key LIMIT ?', 1, 'a', 10],
      ['SELECT key FROM entries WHERE scope = ? AND key >= ? AND key < ? ORDER BY key DESC LIMIT ?', 1, 'a', 'b', 10],
      ['DELETE FROM entries WHERE scope = ?', 1],
      ['SELECT name FROM scopes WHERE parent = ? AND keys > 0 AND name > ? ORDER BY name LIMIT ?', 1, '', 10],
      ['SELECT id FROM scopes WHERE path > ? AND path < ?', 'a/', 'a0'],
      ['SELECT scope, key FROM entries WHERE expires_at <= ? LIMIT ?', 1, 10],
      ['SELECT keys, bytes FROM scopes WHERE id = ?', 1],
    ] as const
    for (const [sql, ...params] of queries) {
      const detail = plan(sql, ...params)
      expect(detail, sql).not.toMatch(/SCAN (entries|scopes)(?! USING)/)
      expect(detail, sql).not.toMatch(/USE TEMP B-TREE/)
    }
    raw.close()
  })
})
