import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { inconsistencies, openSqlite, outcome, tempDir } from './support.js'

const dir = tempDir()

describe('group commit', () => {
  it('runs a Promise.all of 1000 sets as one transaction', async () => {
    const { cubby, internals } = await openSqlite(join(dir, 'one-tx.db'))
    const store = cubby.scope('s')
    await store.set('warm', 1)
    const before = { ...internals.writer.stats }
    await Promise.all(Array.from({ length: 1000 }, (_, i) => store.set(`k${i}`, i)))
    expect(internals.writer.stats.transactions - before.transactions).toBe(1)
    expect(internals.writer.stats.jobs - before.jobs).toBe(1000)
    await cubby.close()
  })

  it('settles each caller only after COMMIT: another connection already sees the write', async () => {
    const file = join(dir, 'after-commit.db')
    const { cubby } = await openSqlite(file)
    await cubby.scope('s').set('warm', 1)
    const other = new Database(file, { readonly: true })
    const visible = other.prepare(
      "SELECT count(*) AS n FROM entries e JOIN scopes s ON s.id = e.scope WHERE s.path = 's' AND e.key = ?",
    )
    const seen = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        cubby
          .scope('s')
          .set(`k${i}`, i)
          .then(() => (visible.get(`k${i}`) as { n: number }).n),
      ),
    )
    expect(seen).toEqual(Array(50).fill(1))
    other.close()
    await cubby.close()
  })

  it('fails only the caller whose write is invalid; the rest of the batch commits', async () => {
    const { cubby } = await openSqlite(join(dir, 'batch.db'), {}, { quotas: { scopes: [{ path: ['q'], maxKeys: 1 }] } })
    const store = cubby.scope('s')
    const stale = await store.set('cas', 1)
    await store.set('cas', 2)
    await store.set('text', 'not a number')
    await cubby.scope('q').set('only', 1)
    const outcomes = await Promise.all([
      outcome(store.set('a', 1)),
      outcome(store.set('cas', 3, { ifVersion: stale })),
      outcome(store.incr('text')),
      outcome(cubby.scope('q').set('second', 1)),
      outcome(store.set('b', 2)),
      outcome(store.incr('n', 5)),
    ])
    expect(outcomes).toEqual(['ok', 'CONFLICT', 'INVALID_VALUE', 'QUOTA_EXCEEDED', 'ok', 'ok'])
    expect(await store.getMany(['a', 'b', 'cas', 'n', 'text'])).toEqual([1, 2, 2, 5, 'not a number'])
    await cubby.close()
  })

  it('fails only the job whose statement fails (disk full): the others of its batch commit', async () => {
    const file = join(dir, 'nearfull.db')
    const { cubby, internals } = await openSqlite(file, { maxSizeBytes: 400_000 })
    const store = cubby.scope('s')
    let filled = 0
    while ((await outcome(store.set(`fill${filled}`, 'x'.repeat(3000)))) === 'ok') filled++
    await store.delete('fill0')
    await store.delete('fill1') // a little room again
    const [deleted, small, counted, huge] = await Promise.all([
      outcome(store.delete('fill2')),
      outcome(store.set('small', 1)),
      outcome(store.incr('n')),
      store.set('huge', 'y'.repeat(200_000)).catch((error: Error & { code: string }) => error),
    ])
    expect([deleted, small, counted]).toEqual(['ok', 'ok', 'ok'])
    expect(huge).toMatchObject({ code: 'BACKEND', message: expect.stringMatching(/full/) })
    expect(await store.getMany(['fill2', 'small', 'n', 'huge'])).toEqual([undefined, 1, 1, undefined])
    expect(internals.writer.stats.replays).toBeGreaterThan(0)
    expect(inconsistencies(internals.db)).toEqual([])
    await cubby.close()
  })

  it('fails every caller of a batch whose COMMIT fails, writes none of it, and keeps working', async () => {
    const file = join(dir, 'commit-fails.db')
    const { cubby, internals } = await openSqlite(file)
    const store = cubby.scope('s')
    const first = await store.set('k', 'before')
    const writer = internals.writer as unknown as { commit: { run(): unknown } }
    const commit = writer.commit
    writer.commit = {
      run: () => {
        writer.commit = commit
        throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_WRITE' })
      },
    }
    const outcomes = await Promise.all(
      [
        store.set('k', 'lost'),
        store.set('other', 1),
        cubby.scope('brand', 'new').set('x', 1), // creates scope rows inside the failed transaction
        store.incr('n'),
      ].map((p) => p.catch((error: Error & { code: string }) => error)),
    )
    for (const failure of outcomes)
      expect(failure).toMatchObject({ code: 'BACKEND', message: expect.stringMatching(/I\/O/) })
    const raw = new Database(file, { readonly: true })
    expect(raw.prepare("SELECT count(*) AS n FROM scopes WHERE path LIKE 'brand%'").get()).toEqual({ n: 0 })
    raw.close()
    expect(await store.getMany(['k', 'other', 'n'])).toEqual(['before', undefined, undefined])
    // the cached ids and version block of the rolled-back transaction were dropped: writes work, versions are new
    const again = await cubby.scope('brand', 'new').set('x', 2)
    const next = await store.set('k', 'after')
    expect(new Set([first, again, next]).size).toBe(3)
    expect(await cubby.scope('brand', 'new').get('x')).toBe(2)
    expect(inconsistencies(internals.db)).toEqual([])
    await cubby.close()
  })

  it('handles a batch touching more scopes than SQLite has variables for (imports over many users)', async () => {
    const { cubby, internals } = await openSqlite(join(dir, 'many-scopes.db'))
    const count = 33_000
    const results = await Promise.all(
      Array.from({ length: count }, (_, i) => outcome(cubby.scope('ws', `user${i}`).set('k', 1))),
    )
    expect(results.filter((r) => r !== 'ok')).toEqual([])
    expect(await cubby.scope('ws').usage()).toMatchObject({ keys: count })
    expect((await cubby.scope('ws').scopes({ limit: 10 })).names).toHaveLength(10)
    expect(inconsistencies(internals.db)).toEqual([])
    await cubby.close()
  })
})
