import { createBackend } from '@cubby/backend-remote'
import { openCubby } from '@cubby/core'
import { describe, expect, it, onTestFinished } from 'vitest'
import { openRemote, startServer } from './support.js'

describe('single-key gets issued together (merged into GET frames)', () => {
  it('each caller gets its own entry, repeats and misses included, across scopes and value flags', async () => {
    const local = await openCubby('memory:')
    onTestFinished(() => local.close())
    const { url, token } = await startServer(local)
    const remote = await openRemote(url, await token({ workspace: 'w', plugin: 'p', user: 'u' }))
    const { store, user } = remote.stores({ workspace: 'w', plugin: 'p', user: 'u' })
    const sub = store.scope('s')
    await store.setMany(Array.from({ length: 300 }, (_, i) => [`k${i}`, i] as [string, number]))
    await user!.set('k1', 'mine')
    await sub.set('k1', 'sub', { ttl: 60_000 })
    const keys = Array.from({ length: 600 }, (_, i) => `k${i % 350}`)
    const [plain, mine, inSub, present] = await Promise.all([
      Promise.all(keys.map((key) => store.get(key))),
      user!.get('k1'),
      sub.get('k1'),
      Promise.all(['k1', 'nope', 'k2'].map((key) => store.has(key))),
    ])
    expect(plain).toEqual(keys.map((_, i) => (i % 350 < 300 ? i % 350 : undefined)))
    expect([mine, inSub, present]).toEqual(['mine', 'sub', [true, false, true]])
  })

  it('a merged GET or a getMany too large for maxFrameBytes is split by the client; a value that cannot fit alone fails', async () => {
    const local = await openCubby('memory:')
    onTestFinished(() => local.close())
    // The default maxBufferedBytes (at least 8 MiB) holds this test's many answers in flight despite the tiny frames.
    const { url, token } = await startServer(local, { maxFrameBytes: 4096 })
    const context = { workspace: 'w', plugin: 'p' }
    const host = local.stores(context).store
    const keys = Array.from({ length: 40 }, (_, i) => `k${i}`)
    const value = (i: number) => `${i}:${'v'.repeat(900)}`
    // 40 values of ~900 bytes: ~36 KiB together, each well within a 4 KiB frame alone.
    for (const [i, key] of keys.entries()) await host.set(key, value(i))
    await host.set('huge', 'x'.repeat(10_000))
    const remote = await openRemote(url, await token(context))
    const store = remote.stores(context).store
    const expected = keys.map((_, i) => value(i))
    const [each, many, huge, missing] = await Promise.allSettled([
      Promise.all(keys.map((key) => store.get(key))),
      store.getMany([...keys, 'nope']),
      store.get('huge'),
      store.get('nope'),
    ])
    expect(each).toEqual({ status: 'fulfilled', value: expected })
    expect(many).toEqual({ status: 'fulfilled', value: [...expected, undefined] })
    expect(missing).toEqual({ status: 'fulfilled', value: undefined })
    expect(huge.status === 'rejected' && huge.reason).toMatchObject({ code: 'INVALID_CONFIG', field: 'get.keys' })
    // A getMany holding the key that cannot fit fails with the server's error; the connection carries on.
    await expect(store.getMany(['k1', 'huge'])).rejects.toMatchObject({ code: 'INVALID_CONFIG', field: 'get.keys' })
    expect(await store.get('k2')).toBe(value(2))
  })

  it('a key the server refuses fails only its own call', async () => {
    const local = await openCubby({ url: 'memory:', limits: { maxKeyBytes: 8 } })
    onTestFinished(() => local.close())
    const { url, token } = await startServer(local)
    const remote = await openRemote(url, await token({ workspace: 'w', plugin: 'p' }))
    const store = remote.stores({ workspace: 'w', plugin: 'p' }).store
    await store.set('a', 1)
    const results = await Promise.allSettled([store.get('a'), store.get('much-too-long-key'), store.get('b')])
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as { code: string }).code))).toEqual([
      1,
      'INVALID_KEY',
      undefined,
    ])
  })

  it('a get called before a write is sent before it, so it reads the state before the write', async () => {
    const local = await openCubby('memory:')
    onTestFinished(() => local.close())
    const { url, token } = await startServer(local)
    const backend = await createBackend({
      url,
      options: { token: await token({ workspace: 'w', plugin: 'p' }) },
      clock: Date.now,
      timeoutMs: 5000,
    })
    onTestFinished(() => backend.close())
    const scope = ['w', 'p']
    await local.stores({ workspace: 'w', plugin: 'p' }).store.set('encoded', 42)
    const now = Date.now()
    const value = (await backend.get(scope, ['encoded'], { values: true, now }))[0]!.value!
    const before = backend.get(scope, ['k'], { values: true, now })
    const write = backend.write({ scope, checks: [], ops: [{ type: 'set', key: 'k', value }], quotas: [], now })
    const after = backend.get(scope, ['k'], { values: true, now })
    expect(await before).toEqual([undefined])
    expect((await write).ok).toBe(true)
    expect((await after)[0]?.value).toEqual(value)
  })
})
