// The unstorage driver on memory, SQLite and Redis: every behaviour unstorage's own driver test helper checks
// (init from a snapshot, initial state, set/has/get with query strings, getKeys with base and depth, JSON
// serialization incl. toJSON and refusals, raw bytes, setItems/getItems, falsy values, removeItem, clear), plus
// bytes stored raw, TTL in seconds with getMeta, clear(base) isolation, and watch.

import { waitFor } from '@cubby/conformance'
import type { Cubby, KVStore } from '@cubby/core'
import { cubbyDriver } from '@cubby/unstorage'
import { createStorage, restoreSnapshot, type Storage } from 'unstorage'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { useBackends } from '../../keyv/test/support/backends.js'

describe.each(useBackends())('cubbyDriver on $name', (backend) => {
  let cubby: Cubby
  let scope: KVStore
  let storage: Storage
  beforeAll(async () => {
    cubby = await backend.open()
    scope = cubby.scope('app', 'unstorage')
    storage = createStorage({ driver: cubbyDriver({ scope }) })
  })
  afterEach(async () => {
    await storage.clear()
  })
  afterAll(async () => {
    await storage.dispose()
  })

  it('init from a snapshot', async () => {
    await restoreSnapshot(storage, { initial: 'works' })
    expect(await storage.getItem('initial')).toBe('works')
  })

  it('starts empty', async () => {
    expect(await storage.hasItem('s1:a')).toBe(false)
    expect(await storage.getItem('s2:a')).toBe(null)
    expect(await storage.getKeys()).toEqual([])
  })

  it('setItem, hasItem, getItem (query strings dropped from keys)', async () => {
    await storage.setItem('s1:a', 'test_data')
    await storage.setItem('s2:a', 'test_data')
    await storage.setItem('s3:a?q=1', 'test_data')
    expect(await storage.hasItem('s1:a')).toBe(true)
    expect(await storage.getItem('s1:a')).toBe('test_data')
    expect(await storage.getItem('s3:a?q=2')).toBe('test_data')
    expect(await scope.get('s1:a')).toBe('test_data') // stored under the unstorage key, as is
  })

  it('getKeys, with a base', async () => {
    await storage.setItem('s1:a', 'test_data')
    await storage.setItem('s2:a', 'test_data')
    await storage.setItem('s3:a?q=1', 'test_data')
    expect((await storage.getKeys()).sort()).toEqual(['s1:a', 's2:a', 's3:a'])
    expect(await storage.getKeys('s1')).toEqual(['s1:a'])
  })

  it('getKeys with maxDepth', async () => {
    for (const key of [
      'depth0_0',
      'depth0:depth1:depth2_0',
      'depth0:depth1:depth2_1',
      'depth0:depth1_0',
      'depth0:depth1_1',
    ])
      await storage.setItem(key, 'test_data')
    expect(await storage.getKeys(undefined, { maxDepth: 0 })).toEqual(['depth0_0'])
    expect((await storage.getKeys(undefined, { maxDepth: 1 })).sort()).toEqual([
      'depth0:depth1_0',
      'depth0:depth1_1',
      'depth0_0',
    ])
    expect((await storage.getKeys(undefined, { maxDepth: 2 })).sort()).toEqual([
      'depth0:depth1:depth2_0',
      'depth0:depth1:depth2_1',
      'depth0:depth1_0',
      'depth0:depth1_1',
      'depth0_0',
    ])
  })

  it('serializes objects, primitives and toJSON(), and refuses other class instances', async () => {
    await storage.setItem('/data/test.json', { json: 'works' })
    expect(await storage.getItem('/data/test.json')).toEqual({ json: 'works' })
    await storage.setItem('/data/true.json', true)
    expect(await storage.getItem('/data/true.json')).toBe(true)
    class Lossy1 {
      toJSON() {
        return 'SERIALIZED'
      }
    }
    class Lossy2 {
      toJSON() {
        return { serializedObj: 'works' }
      }
    }
    await storage.setItem('/data/serialized1.json', new Lossy1())
    expect(await storage.getItem('/data/serialized1.json')).toBe('SERIALIZED')
    await storage.setItem('/data/serialized2.json', new Lossy2())
    expect(await storage.getItem('/data/serialized2.json')).toEqual({ serializedObj: 'works' })
    class Bad {}
    await expect(storage.setItem('/data/badvalue.json', new Bad())).rejects.toThrow('Cannot stringify value')
  })

  it('raw bytes round-trip and are stored raw, not base64', async () => {
    const value = new Uint8Array([1, 2, 3, 0, 255])
    await storage.setItemRaw('/data/raw.bin', value)
    const back = (await storage.getItemRaw('/data/raw.bin')) as Uint8Array
    expect(back).toBeInstanceOf(Uint8Array)
    expect([...back]).toEqual([...value])
    const stored = await scope.get('data:raw.bin')
    expect(stored).toBeInstanceOf(Uint8Array)
    const usage = await scope.usage()
    expect(usage.keys).toBe(1)
    expect(usage.bytes).toBeLessThan('data:raw.bin'.length + value.length + 16) // base64 would not fit
  })

  it('setItems and getItems', async () => {
    await storage.setItems([
      { key: 't:1', value: 'test_data_t1' },
      { key: 't:2', value: 'test_data_t2' },
      { key: 't:3', value: 'test_data_t3' },
    ])
    expect(await storage.getItem('t:1')).toBe('test_data_t1')
    expect(await storage.getItem('t:3')).toBe('test_data_t3')
    await storage.setItem('v3:a?q=1', 'test_data_v3:a?q=1')
    await storage.setItem('v2:a', 'test_data_v2:a')
    await storage.setItem('v1:a', 'test_data_v1:a')
    expect(await storage.getItems([{ key: 'v1:a' }, 'v2:a', { key: 'v3:a?q=1' }, 'v4:undefined'])).toEqual([
      { key: 'v1:a', value: 'test_data_v1:a' },
      { key: 'v2:a', value: 'test_data_v2:a' },
      { key: 'v3:a', value: 'test_data_v3:a?q=1' },
      { key: 'v4:undefined', value: null },
    ])
  })

  it('returns falsy values', async () => {
    await storage.setItem('zero', 0)
    expect(await storage.getItem('zero')).toBe(0)
    await storage.setItem('my-false-flag', false)
    expect(await storage.getItem('my-false-flag')).toBe(false)
  })

  it('removeItem', async () => {
    await storage.setItem('s1:a', 'test_data')
    await storage.removeItem('s1:a', false)
    expect(await storage.hasItem('s1:a')).toBe(false)
    expect(await storage.getItem('s1:a')).toBe(null)
  })

  it('clear, also of an empty storage', async () => {
    await storage.setItem('x', 1)
    await storage.clear()
    expect(await storage.getKeys()).toEqual([])
    await storage.clear()
    expect(await storage.getKeys()).toEqual([])
  })

  // unstorage 1.17's storage.clear(base) hands a base only to drivers mounted below it, so the driver's own clear
  // is called directly here.
  it('clear(base) removes that prefix only, and never the scope’s child scopes', async () => {
    await storage.setItem('a:1', 1)
    await storage.setItem('a:2', 2)
    await storage.setItem('ab:1', 3)
    await storage.setItem('b:1', 4)
    await scope.scope('child').set('k', 'host data')
    await cubbyDriver({ scope }).clear?.('a:', {})
    expect((await storage.getKeys()).sort()).toEqual(['ab:1', 'b:1'])
    await storage.clear()
    expect(await scope.scope('child').get('k')).toBe('host data')
    await scope.scope('child').clear()
  })

  it('clear(base) over more keys than maxBatchSize', async () => {
    const driver = cubbyDriver({ scope: scope.scope('batch'), maxBatchSize: 3 })
    const small = createStorage({ driver })
    await small.setItems(Array.from({ length: 10 }, (_, i) => ({ key: `p:${i}`, value: i })))
    await small.setItem('q:1', 'kept')
    await driver.clear?.('p:', {})
    expect(await small.getKeys()).toEqual(['q:1'])
    await small.clear()
  })

  it('TTL is in seconds: stored expiry, getMeta ttl and expires', async () => {
    const before = Date.now()
    await storage.setItem('ttl:k', 'v', { ttl: 60 })
    const entry = await scope.getEntry('ttl:k')
    expect(entry?.expiresAt).toBeGreaterThanOrEqual(before + 60_000)
    expect(entry?.expiresAt).toBeLessThanOrEqual(Date.now() + 60_000)
    const meta = await storage.getMeta('ttl:k')
    expect(meta.ttl).toBeGreaterThanOrEqual(59)
    expect(meta.ttl).toBeLessThanOrEqual(60)
    expect(meta.expires).toEqual(new Date(entry!.expiresAt!))
    await storage.setItemRaw('ttl:raw', new Uint8Array([9]), { ttl: 1 })
    await waitFor(async () => !(await storage.hasItem('ttl:raw')), 'a 1 s TTL to expire')
    await storage.setItem('ttl:none', 'v')
    expect((await storage.getMeta('ttl:none')).ttl).toBeUndefined()
    await expect(storage.setItem('ttl:bad', 'v', { ttl: -1 })).rejects.toMatchObject({ code: 'INVALID_CONFIG' })
  })

  it('a default TTL applies to writes without one', async () => {
    const withTtl = createStorage({ driver: cubbyDriver({ scope: scope.scope('ttl-default'), ttl: 120 }) })
    await withTtl.setItem('k', 'v')
    expect((await scope.scope('ttl-default').getEntry('k'))?.expiresAt).toBeGreaterThan(Date.now() + 110_000)
    await withTtl.clear()
  })

  it('watch reports updates and removals from another storage on the same scope, until unwatched', async () => {
    const events: string[] = []
    const unwatch = await storage.watch((event, key) => {
      events.push(`${event} ${key}`)
    })
    const other = createStorage({ driver: cubbyDriver({ scope }) })
    await other.setItem('w:1', 'a')
    await other.removeItem('w:1')
    await waitFor(() => events.length >= 2, 'two watch events')
    expect(events).toEqual(['update w:1', 'remove w:1'])
    await unwatch()
    await other.setItem('w:2', 'b')
    await other.setItem('w:3', 'c')
    await waitFor(async () => (await scope.has('w:3')) === true, 'the writes')
    expect(events).toHaveLength(2)
  })

  it('watch reports an ended watch and watches again', async () => {
    let calls = 0
    const failing = new Proxy(scope, {
      get(target, property, receiver) {
        if (property !== 'watch') return Reflect.get(target, property, receiver)
        return (...args: Parameters<KVStore['watch']>) => {
          const inner = target.watch(...args)
          if (++calls > 1) return inner
          // The first watch fails after its first event, as a dropped backend subscription would.
          return {
            ready: inner.ready,
            close: () => inner.close(),
            async *[Symbol.asyncIterator]() {
              for await (const event of inner) {
                yield event
                inner.close()
                throw Object.assign(new Error('subscription lost'), { code: 'BACKEND' })
              }
            },
          }
        }
      },
    })
    const errors: unknown[] = []
    const events: string[] = []
    const watched = createStorage({ driver: cubbyDriver({ scope: failing, onWatchError: (e) => errors.push(e) }) })
    await watched.watch((event, key) => {
      events.push(`${event} ${key}`)
    })
    await storage.setItem('r:1', 1)
    await waitFor(() => errors.length === 1 && calls === 2, 'the error report and a second watch')
    expect((errors[0] as Error).message).toBe('subscription lost')
    // The second watch is ready once `calls` is 2 and its ready resolved; write until it sees a change.
    await waitFor(async () => {
      await storage.setItem('r:2', Date.now())
      return events.includes('update r:2')
    }, 'an event through the second watch')
    expect(events[0]).toBe('update r:1')
    await watched.dispose()
  })
})
