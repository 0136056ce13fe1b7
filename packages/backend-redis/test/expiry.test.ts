import { openCubby } from '@cubby/core'
import { afterAll, describe, expect, it } from 'vitest'
import { startRedis } from '../src/testing/index.js'
import { measuredUsage, rawClient, waitFor } from './support/wait.js'

const server = await startRedis()
const raw = await rawClient(server.port)
afterAll(async () => {
  raw.destroy()
  await server.stop()
})

const measured = (prefix: string, id: string, keys: string[]) => measuredUsage(raw, prefix, id, keys)

/**
 * What is wrong in a group's TTL index (`x` schedule, `xs` sizes) against its entries and the scope index: [] when
 * it is consistent. A scheduled member is indexed and sized, and either stored with that expiry or gone (expired
 * natively, still counted); an entry stored with an expiry is scheduled at it, one without is not scheduled.
 */
async function ttlIndexProblems(prefix: string, id = '/w/p'): Promise<string[]> {
  const group = `${prefix}:{${id}}:`
  const problems: string[] = []
  const x = new Map((await raw.zRangeWithScores(`${group}x`, 0, -1)).map((e) => [e.value, e.score]))
  const xs = await raw.hGetAll(`${group}xs`)
  const indexed = await raw.zRange(`${group}i:${id}`, 0, -1)
  for (const member of Object.keys(xs)) if (!x.has(member)) problems.push(`${member}: sized, not scheduled`)
  for (const member of x.keys()) {
    if (!(member in xs)) problems.push(`${member}: scheduled, not sized`)
    if (!indexed.includes(member.slice(id.length + 1))) problems.push(`${member}: scheduled, not indexed`)
  }
  for (const key of indexed) {
    const member = `${id}:${key}`
    const entry = await raw.get(`${group}e:${member}`)
    if (entry === null) {
      if (!x.has(member)) problems.push(`${member}: indexed, absent, not scheduled`)
      continue
    }
    const expiry = entry.split('|')[1]!
    const scheduled = x.get(member)
    if (expiry === '' && scheduled !== undefined) problems.push(`${member}: no expiry, scheduled at ${scheduled}`)
    if (expiry !== '' && scheduled !== Number(expiry))
      problems.push(`${member}: expires at ${expiry}, scheduled ${scheduled}`)
  }
  return problems
}

describe('TTL', () => {
  it('keeps usage exact when Redis expires entries itself before the sweep does (small expiryGraceMs)', async () => {
    const prefix = 'native'
    const cubby = await openCubby({ url: server.url, prefix, expiryGraceMs: 1, sweepIntervalMs: 3_600_000 })
    const store = cubby.scope('w', 'p')
    const rewrite: Record<string, (key: string) => Promise<unknown>> = {
      set: (key) => store.set(key, 'v'),
      'set with ttl': (key) => store.set(key, 'value', { ttl: 600_000 }),
      incr: (key) => store.incr(key, 2),
      update: (key) => store.update(key, (old) => [old, 'x']),
      setMany: (key) => store.setMany({ [key]: 'many', [`${key}-other`]: 1 }),
      'atomic set': async (key) =>
        store
          .atomic()
          .check(key, (await store.getEntry(key))?.version ?? null)
          .set(key, 'atomic')
          .commit(),
      delete: (key) => store.delete(key),
      'set, checked': async (key) => store.set(key, 'w', { ifVersion: (await store.getEntry(key))?.version ?? null }),
      'sets in one tick, one key twice': (key) =>
        Promise.all([store.set(key, 'one'), store.set(`${key}-2`, 2), store.set(key, 'three!')]),
    }
    for (const [name, write] of Object.entries(rewrite)) {
      for (const old of ['expired natively', 'live'] as const) {
        const key = `k-${name}-${old[0]}`
        // A live old value is a number, so incr and update can use it.
        if (old === 'live') await store.set(key, 1_234_567_890, { ttl: 600_000 })
        else await store.set(key, 'a somewhat longer old value', { ttl: 20 })
        const entry = `${prefix}:{/w/p}:e:/w/p:${key}`
        if (old !== 'live') {
          await waitFor(`Redis to expire ${key} natively`, async () => (await raw.exists(entry)) === 0)
        }
        await write(key)
        // Before any read: usage() sweeps what is due, which would hide a stale schedule until a delete makes it count.
        expect(await ttlIndexProblems(prefix), `after ${name} over an entry ${old}`).toEqual([])
        const live = (await store.list({ values: false })).entries.map((e) => e.key)
        expect(await store.usage(), `after ${name} over an entry ${old}`).toEqual(await measured(prefix, '/w/p', live))
      }
    }
    const live = (await store.list({ values: false })).entries.map((e) => e.key)
    expect(await raw.hGetAll(`${prefix}:{/w/p}:u:/w/p`)).toMatchObject({ k: String(live.length) })
    expect(await cubby.scope().usage()).toEqual(await measured(prefix, '/w/p', live)) // root counters too
    await store.clear()
    expect(await store.usage()).toEqual({ keys: 0, bytes: 0 })
    expect(await raw.exists(`${prefix}:{/w/p}:u:/w/p`)).toBe(0)
    expect(await raw.zCard(`${prefix}:{/w/p}:x`)).toBe(0)
    expect(await raw.hLen(`${prefix}:{/w/p}:xs`)).toBe(0)
    expect(await cubby.scope().usage()).toEqual({ keys: 0, bytes: 0 })
    await cubby.close()
  })

  it('reclaims an entry Redis already expired natively, giving its space back', async () => {
    const prefix = 'native2'
    const cubby = await openCubby({ url: server.url, prefix, expiryGraceMs: 1, sweepIntervalMs: 3_600_000 })
    const store = cubby.scope('w', 'p', 'u')
    await store.set('gone', 'x'.repeat(100), { ttl: 20 })
    await store.set('kept', 1)
    await waitFor('native expiry', async () => (await raw.exists(`${prefix}:{/w/p}:e:/w/p/u:gone`)) === 0)
    expect(await store.usage()).toEqual({ keys: 1, bytes: 7 }) // 'kept' + the encoded 1 (0x01 'j' '1')
    expect(await cubby.scope('w').scopes()).toEqual({ names: ['p'] })
    expect(await raw.zRange(`${prefix}:{/w/p}:i:/w/p/u`, 0, -1)).toEqual(['kept'])
    await cubby.close()
  })

  it('lets one instance sweep the TTL entries another instance wrote, every time', async () => {
    const prefix = 'sweep2'
    const sweeping = await openCubby({ url: server.url, prefix, sweepIntervalMs: 50 })
    const writing = await openCubby({ url: server.url, prefix, sweepIntervalMs: 3_600_000 })
    const store = writing.scope('w', 'p')
    const index = `${prefix}:{/w/p}:i:/w/p`
    for (const key of ['k1', 'k2', 'k3']) {
      await store.set(key, 'v', { ttl: 30 })
      await waitFor(`the other instance to reclaim ${key}`, async () => (await raw.zCard(index)) === 0)
      expect(await raw.exists(`${prefix}:{/w/p}:u:/w/p`)).toBe(0)
      expect(await raw.zCard(`${prefix}:{/w/p}:x`)).toBe(0)
    }
    expect(await raw.zCard(`${prefix}:xg`)).toBe(0)
    await sweeping.close()
    await writing.close()
  })
})
