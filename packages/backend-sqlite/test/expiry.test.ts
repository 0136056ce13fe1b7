import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { SWEEP_BATCH } from '../src/sweep.js'
import { inconsistencies, openSqlite, tempDir, waitFor } from './support.js'

const dir = tempDir()

/** Rows physically stored in a scope, expired or not. */
function storedIn(db: import('better-sqlite3').Database, path: string): number {
  return db
    .prepare('SELECT count(*) FROM entries e JOIN scopes s ON s.id = e.scope WHERE s.path = ?')
    .pluck()
    .get(path) as number
}

async function fill(store: import('@cubby/core').KVStore, count: number, ttl?: number): Promise<void> {
  for (let i = 0; i < count; i += 2000) {
    const batch = Array.from({ length: Math.min(2000, count - i) }, (_, j) => [`k${i + j}`, 'v'] as [string, string])
    await store.setMany(batch, ttl === undefined ? {} : { ttl })
  }
}

describe('expiry', () => {
  it('usage() and scopes() are exact at once, before anything is reclaimed', async () => {
    let now = 1_000_000
    const { cubby, internals } = await openSqlite(
      join(dir, 'exact.db'),
      { sweepIntervalMs: 3_600_000 },
      { clock: () => now },
    )
    const plugin = cubby.scope('p')
    await plugin.scope('gone').set('a', 'x', { ttl: 1000 })
    await plugin.scope('mixed').set('short', 'x', { ttl: 1000 })
    await plugin.scope('mixed').set('long', 'y', { ttl: 60_000 })
    await plugin.scope('live').set('k', 'z')
    await plugin.scope('live', 'deep').set('t', 'w', { ttl: 1000 })
    await cubby.scope('control', 'a').set('long', 'y') // the same live data, for the byte figures
    await cubby.scope('control', 'b').set('k', 'z')
    now += 5000
    const control = await cubby.scope('control').usage()
    expect((await plugin.scopes()).names).toEqual(['live', 'mixed'])
    expect(await plugin.scope('gone').usage()).toEqual({ keys: 0, bytes: 0 })
    expect(await plugin.scope('mixed').usage()).toEqual(await cubby.scope('control', 'a').usage())
    expect(await plugin.usage()).toEqual(control)
    expect(control.keys).toBe(2)
    expect((await plugin.scopes({ limit: 1 })).names).toEqual(['live']) // a full page, expired children skipped
    expect(storedIn(internals.db, 'p/gone')).toBe(1) // nothing was reclaimed to answer
    await cubby.close()
  })

  it('the sweep keeps going, one bounded transaction at a time, until nothing is due', async () => {
    let now = 1_000_000
    const { cubby, internals } = await openSqlite(
      join(dir, 'sweep.db'),
      { sweepIntervalMs: 3_600_000 },
      { clock: () => now },
    )
    const rows = SWEEP_BATCH * 5 + 17
    await fill(cubby.scope('cache'), rows, 1000)
    await cubby.scope('cache').set('kept', 1)
    now += 5000
    const before = internals.writer.stats.transactions
    internals.sweep!.start() // one start, as one interval tick would
    await waitFor(() => storedIn(internals.db, 'cache') === 1, 'the sweep to reclaim every expired row')
    expect(internals.writer.stats.transactions - before).toBeGreaterThanOrEqual(6) // bounded chunks
    expect(await cubby.scope('cache').usage()).toMatchObject({ keys: 1 })
    expect(inconsistencies(internals.db)).toEqual([])
    await cubby.close()
  })

  it('sweeps by itself every sweepIntervalMs', async () => {
    let now = 1_000_000
    const { cubby, internals } = await openSqlite(
      join(dir, 'interval.db'),
      { sweepIntervalMs: 50 },
      { clock: () => now },
    )
    await fill(cubby.scope('cache'), 100, 1000)
    now += 5000
    await waitFor(() => storedIn(internals.db, 'cache') === 0, 'the background sweep')
    expect(inconsistencies(internals.db)).toEqual([])
    await cubby.close()
  })

  it('a quota refusal reclaims only that quota’s subtree, a bounded chunk, and decides on live usage', async () => {
    let now = 1_000_000
    const { cubby, internals } = await openSqlite(
      join(dir, 'quota.db'),
      { sweepIntervalMs: 3_600_000 },
      { clock: () => now, quotas: { scopes: [{ path: ['q'], maxKeys: 1500 }] } },
    )
    await fill(cubby.scope('q', 'user'), 1500, 1000)
    await fill(cubby.scope('other'), 300, 1000)
    now += 5000
    // The counters say 1500 keys in q (all expired): a new key is over them, but not over live usage.
    await cubby.scope('q').set('new', 1)
    expect(storedIn(internals.db, 'q/user')).toBe(500) // 1000 reclaimed (the bound), the rest counted, not deleted
    expect(storedIn(internals.db, 'other')).toBe(300) // outside the quota's subtree: untouched
    expect(await cubby.scope('q').usage()).toMatchObject({ keys: 1 })
    expect(inconsistencies(internals.db)).toEqual([])
    await cubby.close()
  })

  it('refuses reviving an expired row (no growth by the counters) when live usage is at the limit', async () => {
    let now = 1_000_000
    const limit = 2500
    const { cubby, internals } = await openSqlite(
      join(dir, 'quota-revive.db'),
      { sweepIntervalMs: 3_600_000 },
      { clock: () => now, quotas: { scopes: [{ path: ['q'], maxKeys: limit }] } },
    )
    const q = cubby.scope('q')
    await fill(q, limit, 1000)
    now += 5000
    await q.setMany(Array.from({ length: limit }, (_, i) => [`fresh${i}`, 1] as [string, number])) // live: at the limit
    const expired = internals.db
      .prepare("SELECT key FROM entries e JOIN scopes s ON s.id = e.scope WHERE s.path = 'q' AND e.expires_at <= ?")
      .pluck()
      .get(now) as string
    expect(expired).toBeDefined() // still stored: the reclaim is bounded
    await expect(q.set(expired, 'back')).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED', used: limit, requested: 1 })
    expect(await q.usage()).toMatchObject({ keys: limit })
    await cubby.close()
  })

  it('reports live figures in QuotaExceededError, expired rows not counted', async () => {
    let now = 1_000_000
    const { cubby } = await openSqlite(
      join(dir, 'quota-live.db'),
      { sweepIntervalMs: 3_600_000 },
      { clock: () => now, quotas: { scopes: [{ path: ['q'], maxKeys: 6 }] } },
    )
    const q = cubby.scope('q')
    await q.set('live', 1)
    await fill(q.scope('u'), 5, 1000)
    now += 5000
    const error = await q
      .setMany([
        ['a', 1],
        ['b', 2],
        ['c', 3],
        ['d', 4],
        ['e', 5],
        ['f', 6],
      ])
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'QUOTA_EXCEEDED', limit: 6, used: 1, requested: 6 })
    expect(await q.usage()).toMatchObject({ keys: 1 })
    await cubby.close()
  })
})
