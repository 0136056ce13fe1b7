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
