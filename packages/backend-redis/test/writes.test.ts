import { type ChangeEvent, openCubby } from '@cubby/core'
import { afterAll, describe, expect, it } from 'vitest'
import { librarySource } from '../src/lua/library.js'
import { startRedis } from '../src/testing/index.js'
import { LARGE_VALUE_BYTES } from '../src/write-batch.js'
import { MAX_BATCH_REQUESTS } from '../src/writer.js'
import { measuredUsage, outcome, rawClient } from './support/wait.js'

const server = await startRedis()
const raw = await rawClient(server.port)
afterAll(async () => {
  raw.destroy()
  await server.stop()
})

describe('group commit', () => {
  it('decides every request of one tick on its own: a refusal fails only its caller, and emits nothing', async () => {
    const cubby = await openCubby({ url: server.url, prefix: 'iso', quotas: { user: { maxKeys: 1 } } })
    const { store, user } = cubby.stores({ workspace: 'w', plugin: 'p', user: 'u' })
    await store.set('str', 'not a number')
    await user!.set('taken', 1)
    const events: string[] = []
    const watch = store.watch()
    await watch.ready
    const watching = (async () => {
      for await (const event of watch as AsyncIterable<ChangeEvent>) {
        events.push(`${event.type}:${event.key}`)
        if (event.key === 'c') return
      }
    })()
    const results = await Promise.all([
      outcome(store.set('a', 1)),
      outcome(store.incr('str')),
      outcome(store.set('b', 2, { ifVersion: 'no-such-version' })),
      outcome(user!.set('over', 1)),
      outcome(store.set('c', 3)),
    ])
    expect(results).toEqual(['ok', 'INVALID_VALUE', 'CONFLICT', 'QUOTA_EXCEEDED', 'ok'])
    await watching
    expect(events).toEqual(['set:a', 'set:c'])
    expect(await store.get('str')).toBe('not a number')
    expect(await store.has('b')).toBe(false)
    expect(await user!.has('over')).toBe(false)
    expect((await store.usage()).keys).toBe(4) // str, a, c and the user's key
    await cubby.close()
  })

  it('one tick of plain sets (one MGET and one MSET) with a key set twice: last write wins, usage exact, events in order', async () => {
    const prefix = 'bulk'
    const now = Date.now()
    const cubby = await openCubby({ url: server.url, prefix, clock: () => now }) // one run needs one `now`
    const store = cubby.scope('w', 'p')
    await store.set('old', 'a longer value than the next one')
    const events: string[] = []
    const watch = store.watch()
    await watch.ready
    await raw.sendCommand(['CONFIG', 'RESETSTAT'])
    const watching = (async () => {
      for await (const event of watch as AsyncIterable<ChangeEvent>) {
        events.push(`${event.type}:${event.key}:${event.version}`)
        if (events.length === 5) return
      }
    })()
    const versions = await Promise.all([
      store.set('a', 1),
      store.set('old', 'short'),
      store.set('a', 'twice'),
      store.set('b', [2]),
      store.set('old', 'again'),
    ])
    expect(new Set(versions).size).toBe(5)
    const stats = String(await raw.sendCommand(['INFO', 'commandstats']))
    expect(stats).toMatch(/cmdstat_mset:calls=1,/)
    expect(stats).not.toMatch(/cmdstat_set:/)
    await watching
    expect(events).toEqual(['a', 'old', 'a', 'b', 'old'].map((key, i) => `set:${key}:${versions[i]}`))
    expect(await store.getMany(['a', 'old', 'b'])).toEqual(['twice', 'again', [2]])
    expect((await store.getEntry('a'))?.version).toBe(versions[2])
    const live = (await store.list({ values: false })).entries.map((e) => e.key)
    expect(live).toEqual(['a', 'b', 'old'])
    expect(await store.usage()).toEqual(await measuredUsage(raw, prefix, '/w/p', live))
    expect(await cubby.scope().usage()).toEqual(await store.usage())
    await cubby.close()
  })

  it('never repeats a version after the counter is lost while the library keeps its block (FLUSHALL)', async () => {
    const cubby = await openCubby({ url: server.url, prefix: 'flushed' })
    const store = cubby.scope('w', 'p')
    const versions = [await store.set('k', 0)]
    for (let i = 0; i < 300; i++) versions.push(await store.set('k', i))
    await raw.flushAll()
    // Past the rest of the block the library holds and into the next one: a counter restarted at 0 must not be used.
    for (let i = 0; i < 1500; i++) versions.push(await store.set('k', i))
    expect(new Set(versions).size).toBe(versions.length)
    await cubby.close()
  })

  for (const between of ['sets', 'bulk runs'] as const) {
    it(`never repeats a version when the library state is lost after the counter, ${between} between (FLUSHALL, then a failover)`, async () => {
      const prefix = `lost-${between[0]}`
      const cubby = await openCubby({ url: server.url, prefix })
      const store = cubby.scope('w', 'p')
      const keys = Array.from({ length: 50 }, (_, i) => `k${i}`)
      const versions: string[] = []
      const setAll = async (value: number) => {
        await store.setMany(keys.map((key) => [key, value] as const)) // a bulk run: granted versions once it has some
        const entries = await Promise.all(keys.map((key) => store.getEntry(key)))
        versions.push(...entries.map((e) => `${e!.key}@${e!.version}`))
      }
      const setOne = async (i: number) => versions.push(`k0@${await store.set('k0', i)}`)
      if (between === 'sets') for (let i = 0; i < 5; i++) await setOne(i)
      else for (let i = 0; i < 2; i++) await setAll(i) // the first asks for a block
      await raw.flushAll()
      // Served from a block the library state holds (its own, or the one it granted): no INCRBY brings the counter
      // back by itself.
      for (let i = 0; i < 5; i++) await (between === 'sets' ? setOne(i) : setAll(i))
      await raw.sendCommand(['FUNCTION', 'FLUSH']) // the state lost too, as a promoted replica has none
      for (let i = 0; i < 2100; i++) await setOne(i) // through every block used above
      for (let i = 5; i < 8; i++) await setAll(i)
      expect(versions.length - new Set(versions).size).toBe(0)
      await cubby.close()
    })
  }

  it('bulk runs of two instances use granted versions, fall back after the library state is lost, and never repeat one', async () => {
    const prefix = 'granted'
    const now = Date.now()
    const clock = () => now // one `now`, so each tick is one bulk run
    const a = await openCubby({ url: server.url, prefix, clock })
    const b = await openCubby({ url: server.url, prefix, clock })
    const stores = [a.scope('w', 'p'), b.scope('w', 'p')]
    const versions: string[] = []
    const expected = new Map<string, number>()
    let round = 0
    const tick = async () => {
      round++
      for (const [s, store] of stores.entries()) {
        const keys = Array.from({ length: 40 }, (_, i) => `k${(i * 7 + round) % 60}`)
        versions.push(...(await Promise.all(keys.map((key, i) => store.set(key, round * 100 + i + s)))))
        for (const [i, key] of keys.entries()) expected.set(key, round * 100 + i + s)
        await store.setMany(keys.map((key) => [key, round] as const))
        versions.push(...(await Promise.all(keys.map((key) => store.getEntry(key)))).map((entry) => entry!.version))
        for (const key of keys) expected.set(key, round)
      }
    }
    for (let i = 0; i < 3; i++) await tick() // the first run of each instance asks for a block, the next use it
    await raw.sendCommand(['FUNCTION', 'FLUSH']) // the blocks the library state granted are gone with it
    for (let i = 0; i < 3; i++) await tick()
    await raw.sendCommand(['DEL', `${prefix}:{/w/p}:n`]) // the counter lost, the state kept (as FLUSHALL)
    for (let i = 0; i < 3; i++) await tick()
    expect(new Set(versions).size).toBe(versions.length)
    const keys = [...expected.keys()]
    expect(await stores[1]!.getMany(keys)).toEqual(keys.map((key) => expected.get(key)))
    const entries = await Promise.all(keys.map((key) => stores[0]!.getEntry(key)))
    expect(new Set(entries.map((e) => e!.version)).size).toBe(keys.length)
    const live = (await stores[0]!.list({ values: false })).entries.map((e) => e.key)
    expect(await stores[0]!.usage()).toEqual(await measuredUsage(raw, prefix, '/w/p', live))
    await a.close()
    await b.close()
  })

  it('never uses a block that a lost library state granted, even when the counter went back below it (failover)', async () => {
    const prefix = 'stale'
    const now = Date.now()
    const a = await openCubby({ url: server.url, prefix, clock: () => now })
    const b = await openCubby({ url: server.url, prefix, clock: () => now })
    const [sa, sb] = [a.scope('w', 'p'), b.scope('w', 'p')]
    const keys = Array.from({ length: 40 }, (_, i) => `a${i}`)
    const versions = await Promise.all(keys.map((key) => sa.set(key, 1))) // server versions, and a block for `a`
    // A failover that lost the grant: a new library state, and the counter back to just past the stored versions.
    await raw.sendCommand(['FUNCTION', 'FLUSH'])
    await raw.sendCommand(['SET', `${prefix}:{/w/p}:n`, String(Math.max(...versions.map(Number)) + 1)])
    for (let i = 0; i < 1100; i++) versions.push(await sb.set(`b${i}`, i)) // through where a's block lay
    versions.push(...(await Promise.all(keys.map((key) => sa.set(key, 2)))))
    expect(new Set(versions).size).toBe(versions.length)
    expect(await sb.getMany(keys)).toEqual(keys.map(() => 2))
    await a.close()
    await b.close()
  })

  it('cuts a huge tick into bounded calls: 160,000 sets in one tick all settle', async () => {
    const cubby = await openCubby({ url: server.url, prefix: 'huge', timeoutMs: 60_000, commandTimeoutMs: 60_000 })
    const store = cubby.scope('w', 'p')
    const n = 160_000
    await raw.sendCommand(['CONFIG', 'RESETSTAT'])
    const settled = await Promise.allSettled(Array.from({ length: n }, (_, i) => store.set(`k${i}`, i)))
    expect(settled.filter((s) => s.status === 'rejected')).toEqual([])
    const calls = Number(/cmdstat_fcall:calls=(\d+)/.exec(String(await raw.sendCommand(['INFO', 'commandstats'])))?.[1])
    expect(calls).toBeGreaterThanOrEqual(n / MAX_BATCH_REQUESTS) // each call holds the server only briefly
    expect((await store.usage()).keys).toBe(n)
    await store.clear()
    await cubby.close()
  })
})

describe('quotas on one server', () => {
  it('enforces a cap on the root and on a workspace (one server runs a write over every level at once)', async () => {
    const cubby = await openCubby({
      url: server.url,
      prefix: 'rootcap',
      quotas: {
        scopes: [
          { path: [], maxKeys: 3 },
          { path: ['w1'], maxBytes: 40 },
        ],
      },
    })
    await cubby.scope('w1', 'p', 'u').set('a', 1)
    await cubby.scope('w2', 'q').set('b', 2)
    await cubby.scope().set('c', 3)
    const error = await cubby
      .scope('w3', 'r', 's')
      .set('d', 4)
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'QUOTA_EXCEEDED', limit: 3, used: 3, requested: 1 })
    await cubby.scope('w2', 'q').delete('b')
    const big = await cubby
      .scope('w1', 'x')
      .set('long', 'x'.repeat(40))
      .catch((e: unknown) => e)
    expect(big).toMatchObject({ code: 'QUOTA_EXCEEDED', limit: 40 })
    await cubby.scope('w1', 'x').set('ok', 1)
    expect(await cubby.scope().usage()).toEqual({ keys: 3, bytes: 13 })
    expect(await cubby.scope().scopes()).toEqual({ names: ['w1'] })
    await cubby.scope().drop()
    expect(await cubby.scope().usage()).toEqual({ keys: 0, bytes: 0 })
    await cubby.close()
  })
})

describe('declared keys', () => {
  it('the checking library used by the standalone conformance run fails on a key it was not given', async () => {
    const library = librarySource(true)
    await raw.sendCommand(['FUNCTION', 'LOAD', 'REPLACE', library.source])
    const prune = library.functions.prune
    await expect(raw.sendCommand(['FCALL', prune, '2', 'a', 'b', 'p', 's'])).rejects.toThrow(/undeclared key/)
    expect(await raw.sendCommand(['FCALL', prune, '3', 'a', 'b', 'c', 'p', 's'])).toBe(1)
    await raw.sendCommand(['FUNCTION', 'DELETE', library.name])
  })

  it('loads its library again after FUNCTION FLUSH, for every kind of call, many in flight', async () => {
    const cubby = await openCubby({ url: server.url, prefix: 'flush', heartbeatMs: 100 })
    const store = cubby.scope('w', 'p')
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['set', () => store.set('a', 1)],
      ['incr', () => store.incr('n')],
      ['atomic', () => store.atomic().check('z', null).set('z', 1).commit()],
      ['has', () => store.has('a')],
      ['list keys', () => store.list({ values: false })],
      ['usage', () => store.usage()],
      ['scopes', () => cubby.scope('w').scopes()],
      ['clear', () => store.scope('child').clear()],
      ['drop', () => store.scope('other').drop()],
      ['ttl', () => store.set('t', 1, { ttl: 1 })],
    ]
    for (const [name, call] of calls) {
      await raw.sendCommand(['FUNCTION', 'FLUSH'])
      await raw.sendCommand(['SCRIPT', 'FLUSH'])
      expect(await outcome(call()), name).toBe('ok')
    }
    await raw.sendCommand(['FUNCTION', 'FLUSH'])
    const many = await Promise.all(Array.from({ length: 50 }, (_, i) => outcome(store.scope(`s${i}`).set('k', i))))
    expect(many.every((o) => o === 'ok')).toBe(true)
    await raw.sendCommand(['FUNCTION', 'FLUSH'])
    const watch = store.watch() // its probe needs the library too
    await watch.ready
    await store.set('after', 1)
    const first = await (watch as AsyncIterable<ChangeEvent>)[Symbol.asyncIterator]().next()
    expect(first.value).toMatchObject({ type: 'set', key: 'after' })
    watch.close()
    await cubby.close()
  })
})

describe('drop', () => {
  it('removes children before their parent: a reader that sees the parent gone sees its users gone too', async () => {
    const cubby = await openCubby({ url: server.url, prefix: 'leaf' })
    const plugin = cubby.scope('w', 'p')
    const users = Array.from({ length: 300 }, (_, i) => plugin.scope(`u${String(i).padStart(3, '0')}`))
    await plugin.set('own', 1)
    await Promise.all(users.map((user) => user.set('k', 1)))
    const last = users.at(-1)!
    let dropping = true
    const seen = new Set<string>()
    const reader = (async () => {
      while (dropping) {
        const own = await plugin.has('own') // read the parent first: once it is gone, no user may remain
        const user = await last.has('k')
        seen.add(`own=${own} user=${user}`)
      }
    })()
    await plugin.drop()
    dropping = false
    await reader
    expect(seen.has('own=false user=true')).toBe(false)
    expect(await plugin.usage()).toEqual({ keys: 0, bytes: 0 })
    await cubby.close()
  })
})

describe('large values', () => {
  it('writes values past LARGE_VALUE_BYTES as whole entries: versions, usage, TTL and events stay right', async () => {
    const cubby = await openCubby({ url: server.url, prefix: 'large' })
    const store = cubby.scope('w', 'p')
    const big = (c: string) => c.repeat(LARGE_VALUE_BYTES * 3)
    const watch = store.watch()
    await watch.ready
    const events: ChangeEvent[] = []
    const watching = (async () => {
      for await (const event of watch as AsyncIterable<ChangeEvent>) {
        events.push(event)
        if (event.key === 'done') return
      }
    })()
    const v1 = await store.set('a', big('x'))
    const v2 = await store.set('a', 'small')
    const v3 = await store.set('a', big('y'), { ttl: 600_000 })
    expect(new Set([v1, v2, v3]).size).toBe(3)
    expect(await store.get('a')).toBe(big('y'))
    expect((await store.getEntry('a'))!.version).toBe(v3)
    await expect(store.set('a', big('z'), { ifVersion: v2 })).rejects.toMatchObject({ code: 'CONFLICT' })
    const v4 = await store.set('a', big('z'), { ifVersion: v3 })
    await Promise.all([store.set('b', big('b')), store.set('c', 1), store.setMany({ d: big('d'), e: 'e' })])
    await expect(store.incr('b')).rejects.toMatchObject({ code: 'INVALID_VALUE' })
    expect(await store.update('b', (v) => `${v}!`)).toBe(`${big('b')}!`)
    await store.set('done', 1)
    await watching
    expect(events.find((e) => e.key === 'a' && e.version === v4)).toBeDefined()
    const keys = (await store.list({ values: false })).entries.map((e) => e.key)
    expect(keys).toEqual(['a', 'b', 'c', 'd', 'done', 'e'])
    expect(await store.usage()).toEqual(await measuredUsage(raw, 'large', '/w/p', keys))
    await store.clear()
    expect(await store.usage()).toEqual({ keys: 0, bytes: 0 })
    await cubby.close()
  })
})
