// KeyvCubby's own promises beyond @keyv/test-suite: where namespaces live (checked in the stored scopes), clear()
// isolation, iterator on every backend, batches over maxBatchSize, TTL, and errors through keyv's `error` event.
import { type Cubby, store } from '@cubby/core'
import { ITERABLE_URL, KeyvCubby } from '@cubby/keyv'
import Keyv from 'keyv'
import { beforeAll, describe, expect, it } from 'vitest'
import { useBackends } from './support/backends.js'

describe.each(useBackends())('KeyvCubby on $name', (backend) => {
  let cubby: Cubby
  beforeAll(async () => {
    cubby = await backend.open({ limits: { maxBatchSize: 7 } })
  })

  it('stores namespace ns in the child scope ns, keys without keyv prefix', async () => {
    const scope = cubby.scope('ns-layout')
    const keyv = new Keyv({ store: new KeyvCubby(scope), namespace: 'users' })
    await keyv.set('a:b', { n: 1 })
    const stored = await scope.scope('users').get('a:b')
    expect(typeof stored).toBe('string') // keyv's own serialized form
    expect(JSON.parse(stored as string)).toEqual({ value: { n: 1 } })
    expect(await scope.get('users:a:b')).toBeUndefined()
    const bare = new Keyv({ store: new KeyvCubby(scope), namespace: undefined })
    await bare.set('k', 1)
    expect(await scope.has('k')).toBe(true)
  })

  it('reads entries as every version of the adapter stored them: keyv’s string as a Cubby string value', async () => {
    const scope = cubby.scope('stored-form')
    await scope.scope('old').set('k', '{"value":{"n":1,"s":":x"},"expires":null}') // as 0.1.0 wrote it
    await scope.scope('old').set('b', '{"value":":base64:AQID"}')
    const keyv = new Keyv({ store: new KeyvCubby(scope), namespace: 'old' })
    expect(await keyv.get('k')).toEqual({ n: 1, s: 'x' }) // keyv's own ':' escaping, undone by keyv
    expect(await keyv.get('b')).toEqual(Buffer.from([1, 2, 3]))
    await keyv.set('k', { n: 2 })
    expect(await scope.scope('old').get('k')).toBe('{"value":{"n":2}}')
  })

  it('clear() of one namespace keeps other namespaces, nested-looking ones and the scope’s other data', async () => {
    const scope = cubby.scope('ns-clear')
    const a = new Keyv({ store: new KeyvCubby(scope), namespace: 'a' })
    const ab = new Keyv({ store: new KeyvCubby(scope), namespace: 'a:b' })
    const b = new Keyv({ store: new KeyvCubby(scope), namespace: 'b' })
    await a.set('x', 1)
    await a.set('b:x', 2) // the same keyv key string as namespace 'a:b', key 'x'
    await ab.set('x', 3)
    await b.set('x', 4)
    await scope.set('own', 'host data')
    await scope.scope('a', 'child').set('deep', 'host data')
    await a.clear()
    expect(await a.get('x')).toBeUndefined()
    expect(await a.get('b:x')).toBeUndefined()
    expect(await ab.get('x')).toBe(3)
    expect(await b.get('x')).toBe(4)
    expect(await scope.get('own')).toBe('host data')
    expect(await scope.scope('a', 'child').get('deep')).toBe('host data')
  })

  it('turns on keyv.iterator on this backend and yields only its namespace, in key order', async () => {
    const store = new KeyvCubby(cubby.scope('iter'), { maxBatchSize: 7 })
    expect(store.opts.url).toBe(ITERABLE_URL)
    const one = new Keyv({ store, namespace: 'one' })
    const two = new Keyv({ store: new KeyvCubby(cubby.scope('iter')), namespace: 'two' })
    expect(typeof one.iterator).toBe('function')
    const entries = Array.from({ length: 250 }, (_, i) => ({ key: `k${String(i).padStart(3, '0')}`, value: i }))
    expect(await one.setMany(entries)).toEqual(entries.map(() => true))
    await two.set('other', true)
    const seen: Array<[string, unknown]> = []
    for await (const entry of one.iterator?.(undefined) ?? []) seen.push(entry as [string, unknown])
    expect(seen).toHaveLength(250)
    expect(seen[0]).toEqual(['k000', 0])
    expect(seen[249]).toEqual(['k249', 249])
  })

  it('splits batches over maxBatchSize (7 here) into chunks', async () => {
    const scope = cubby.scope('batches')
    const keyv = new Keyv({ store: new KeyvCubby(scope, { maxBatchSize: 7 }), namespace: 'n' })
    const entries = Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: i, ttl: i % 2 ? 60_000 : undefined }))
    expect(await keyv.setMany(entries)).toEqual(entries.map(() => true))
    expect(await keyv.getMany(entries.map((e) => e.key))).toEqual(entries.map((e) => e.value))
    expect((await scope.scope('n').usage()).keys).toBe(30)
    const odd = await scope.scope('n').getEntry('k1')
    expect(odd?.expiresAt).toBeGreaterThan(Date.now() + 50_000)
    expect((await scope.scope('n').getEntry('k2'))?.expiresAt).toBeUndefined()
    expect(await keyv.deleteMany(entries.map((e) => e.key))).toBe(true)
    expect((await scope.scope('n').usage()).keys).toBe(0)
  })

  it('passes keyv TTLs (ms) to Cubby: the stored entry expires when keyv says', async () => {
    const scope = cubby.scope('ttl')
    const keyv = new Keyv({ store: new KeyvCubby(scope), namespace: 't' })
    const before = Date.now()
    await keyv.set('k', 'v', 30_000)
    const entry = await scope.scope('t').getEntry('k')
    expect(entry?.expiresAt).toBeGreaterThanOrEqual(before + 30_000)
    expect(entry?.expiresAt).toBeLessThanOrEqual(Date.now() + 30_000)
  })

  it('reports failures through keyv’s error event, and rejects with throwOnErrors or without listeners', async () => {
    const broken = await backend.open()
    const scope = broken.scope('errors')
    await broken.close()
    const errors: unknown[] = []
    const keyv = new Keyv({ store: new KeyvCubby(scope) })
    keyv.on('error', (error) => errors.push(error))
    expect(await keyv.get('k')).toBeUndefined()
    expect(await keyv.set('k', 1)).toBe(false)
    expect(errors.length).toBeGreaterThanOrEqual(2)
    expect((errors[0] as { code?: string }).code).toBe('CLOSED')

    const strict = new KeyvCubby(scope, { throwOnErrors: true })
    strict.on('error', () => {})
    await expect(strict.get('k')).rejects.toMatchObject({ code: 'CLOSED' })
    // Standalone, with nobody listening, nothing is swallowed either.
    await expect(new KeyvCubby(scope).get('k')).rejects.toMatchObject({ code: 'CLOSED' })
  })

  it('reports a namespace Cubby refuses as a scope through the error event, never by throwing at the call', async () => {
    const store = new KeyvCubby(cubby.scope('bad-ns'))
    store.namespace = '\uD800' // a lone surrogate: not a valid scope segment
    const errors: unknown[] = []
    store.on('error', (error) => errors.push(error))
    const calls = [store.get('k'), store.set('k', 'v'), store.has('k'), store.delete('k')]
    expect(await Promise.all(calls)).toEqual([undefined, false, false, false])
    expect(errors.map((error) => (error as { code?: string }).code)).toEqual(Array(4).fill('INVALID_SCOPE'))
    const strict = new KeyvCubby(cubby.scope('bad-ns'), { throwOnErrors: true })
    strict.namespace = '\uD800'
    strict.on('error', () => {})
    const pending = strict.set('k', 'v') // returned, not thrown
    await expect(pending).rejects.toMatchObject({ code: 'INVALID_SCOPE' })
  })

  it('over the ambient store, acts on each call’s own cubby.run() context, namespace included', async () => {
    const keyv = new Keyv({ store: new KeyvCubby(store), namespace: 'ns' })
    const errors: unknown[] = []
    keyv.on('error', (error) => errors.push(error))
    await cubby.run({ plugin: 'plugin-a' }, () => keyv.set('k', 'a'))
    expect(await cubby.run({ plugin: 'plugin-b' }, () => keyv.get('k'))).toBeUndefined()
    await cubby.run({ plugin: 'plugin-b' }, () => keyv.set('k', 'b'))
    expect(await cubby.run({ plugin: 'plugin-a' }, () => keyv.get('k'))).toBe('a')
    expect(await cubby.stores({ plugin: 'plugin-b' }).store.scope('ns').get('k')).toBe(JSON.stringify({ value: 'b' }))
    expect(errors).toEqual([])
    expect(await keyv.get('k')).toBeUndefined() // outside any run: NoContextError, through the error event
    expect((errors[0] as { code?: string }).code).toBe('NO_CONTEXT')
  })

  it('refuses a bad maxBatchSize with InvalidConfigError', () => {
    expect(() => new KeyvCubby(cubby.scope('x'), { maxBatchSize: 0 })).toThrow(/maxBatchSize/)
  })
})
