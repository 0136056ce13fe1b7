import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { listSql } from '../src/list.js'
import { migrate } from '../src/schema.js'
import { prepare } from '../src/statements.js'
import { UsageUpdates } from '../src/usage-updates.js'
import { openSqlite, tempDir } from './support.js'

const dir = tempDir()

/**
 * Statements allowed to read a table without a SEARCH, and why. Everything else — every statement the backend
 * prepares, every list-page shape, every usage update — must find its rows through an index.
 */
const SMALL_TABLE = 'watchers holds one row per watching process and scope'
const ALLOWED: Record<string, string> = {
  watchedScopes: SMALL_TABLE,
  refreshWatchers: SMALL_TABLE,
  unregisterAll: SMALL_TABLE,
  pruneWatchers: SMALL_TABLE,
  longestRetention: SMALL_TABLE,
  lastSeq: 'sqlite_sequence holds one row per AUTOINCREMENT table',
  oldestChangeAt: 'reads the first row in rowid order (LIMIT 1)',
  pruneChanges: 'reads the first LIMIT rows in rowid order',
}

function plan(db: Database.Database, sql: string): string[] {
  const params = sql.includes('@') ? [{ id: 1, now: 1 }] : Array.from(sql.matchAll(/\?/g), () => 1)
  return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>).map((r) => r.detail)
}

/** A plan reads through indexes: no table SCAN (CTE rows are fine), no temp b-tree for ordering. */
function problems(lines: string[]): string[] {
  return lines.filter((line) => (/^SCAN /.test(line) && !/^SCAN (sub|gone)$/.test(line)) || /TEMP B-TREE/.test(line))
}

describe('query plans', () => {
  const db = new Database(':memory:')
  migrate(db)

  it('every prepared statement searches an index, never scans a table', () => {
    const statements = prepare(db)
    const checked: string[] = []
    for (const [name, statement] of Object.entries(statements)) {
      const lines = plan(db, statement.source)
      checked.push(name)
      if (name in ALLOWED) continue
      expect(problems(lines), `${name}: ${statement.source}\n${lines.join('\n')}`).toEqual([])
    }
    expect(checked.length).toBeGreaterThan(30)
  })

  it('every list-page shape is a range on (scope, key)', () => {
    const flags = [false, true]
    for (const start of flags)
      for (const end of flags)
        for (const prefix of flags)
          for (const after of flags)
            for (const reverse of flags)
              for (const values of flags) {
                const { sql } = listSql(1, {
                  start: start ? 'a' : undefined,
                  end: end ? 'z' : undefined,
                  prefix: prefix ? 'p' : undefined,
                  after: after ? 'm' : undefined,
                  reverse,
                  values,
                  limit: 10,
                  now: 1,
                })
                const lines = plan(db, sql)
                expect(problems(lines), sql).toEqual([])
                expect(lines.join('; '), sql).toMatch(/SEARCH entries USING PRIMARY KEY \(scope=\?/)
              }
  })

  it('usage updates find their rows by id', () => {
    for (const sql of new UsageUpdates(db).sources()) {
      const lines = plan(db, sql)
      expect(problems(lines), sql).toEqual([])
      expect(lines.join('; '), sql).toMatch(/USING INTEGER PRIMARY KEY/)
    }
  })
})

describe('cost in proportion to the scope asked about', () => {
  it('usage() and scopes() of a small scope neither write nor reclaim another scope’s expired rows', async () => {
    let now = 1_000_000
    const file = join(dir, 'elsewhere.db')
    const { cubby, internals } = await openSqlite(file, { sweepIntervalMs: 3_600_000 }, { clock: () => now })
    for (let i = 0; i < 20_000; i += 5000) {
      await cubby.scope('cache').setMany(
        Array.from({ length: 5000 }, (_, j) => [`k${i + j}`, 'v'] as [string, string]),
        { ttl: 1000 },
      )
    }
    await cubby.scope('tiny', 'child').set('a', 1)
    now += 10_000 // everything in 'cache' has expired
    const changes = internals.db.prepare('SELECT total_changes() AS n').pluck()
    const writes = changes.get()
    const transactions = internals.writer.stats.transactions
    expect(await cubby.scope('tiny').usage()).toEqual({ keys: 1, bytes: 4 })
    expect((await cubby.scope('tiny').scopes()).names).toEqual(['child'])
    expect(await cubby.scope().usage()).toEqual({ keys: 1, bytes: 4 }) // exact, yet nothing reclaimed
    expect((await cubby.scope().scopes()).names).toEqual(['tiny'])
    expect(changes.get()).toBe(writes)
    expect(internals.writer.stats.transactions).toBe(transactions)
    const stored = internals.db.prepare(
      "SELECT count(*) FROM entries e JOIN scopes s ON s.id = e.scope WHERE s.path = 'cache'",
    )
    expect(stored.pluck().get()).toBe(20_000)
    await cubby.close()
  })

  it('drop() walks only the descendants that hold rows, however many emptied ones exist', async () => {
    const file = join(dir, 'emptied.db')
    const { cubby, internals } = await openSqlite(file)
    const plugin = cubby.scope('ws', 'plug')
    await Promise.all(Array.from({ length: 5000 }, (_, i) => plugin.scope(`u${i}`).set('k', 1)))
    await Promise.all(Array.from({ length: 5000 }, (_, i) => plugin.scope(`u${i}`).delete('k')))
    await plugin.scope('u42').set('k', 'kept')
    await plugin.set('own', 1)
    const statements = prepare(internals.db)
    const id = statements.scopeId.get('ws/plug')!
    const walked = statements.holdingSubtree.all({ id }).map((row) => row.id)
    expect(walked).toEqual([id, statements.scopeId.get('ws/plug/u42')])
    await plugin.drop()
    expect(await cubby.scope('ws').usage()).toEqual({ keys: 0, bytes: 0 })
    expect(await plugin.scope('u42').get('k')).toBeUndefined()
    await cubby.close()
  })

  it('keeps the scope-id cache bounded when a process touches very many scopes', async () => {
    const { cubby, internals } = await openSqlite(join(dir, 'cache.db'))
    await Promise.all(Array.from({ length: 20_000 }, (_, i) => cubby.scope('ws', `u${i}`).set('k', 1)))
    const { young, old } = internals.ids.byText
    expect(young.size + old.size).toBeLessThanOrEqual(2 * 4096)
    expect(await cubby.scope('ws', 'u7').get('k')).toBe(1) // an evicted scope is found again
    await cubby.close()
  })
})
