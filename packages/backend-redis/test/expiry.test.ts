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
      'atomic set': async (key) => store.atomic().check(key, null).set(key, 'atomic').commit(),
      delete: (key) => store.delete(key),
      'set, checked': (key) => store.set(key, 'w', { ifVersion: null }),
      'sets in one tick, one key twice': (key) =>
        Promise.all([store.set(key, 'one'), store.set(`${key}-2`, 2), store.set(key, 'three!')]),
    }
    for (const [name, write] of Object.entries(rewrite)) {
      const key = `k-${name}`
      await store.set(key, 'a somewhat longer old value', { ttl: 20 })
      const entry = `${prefix}:{/w/p}:e:/w/p:${key}`
      await waitFor(`Redis to expire ${key} natively`, async () => (await raw.exists(entry)) === 0)
      await write(key)
      const live = (await store.list({ values: false })).entries.map((e) => e.key)
      expect(await store.usage(), `after ${name}`).toEqual(await measured(prefix, '/w/p', live))
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
