import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Cubby, openCubby } from '@cubby/core'
import { rawScopeAt } from '@cubby/core/raw'
import { describe, expect, it, onTestFinished, vi } from 'vitest'
import { openRemote, startServer } from './support.js'

async function host(kind: 'memory' | 'sqlite'): Promise<Cubby> {
  if (kind === 'memory') return openCubby('memory:')
  const dir = mkdtempSync(join(tmpdir(), 'cubby-usage-'))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  return openCubby(`sqlite:${join(dir, 'store.db')}`)
}

/** Live keys and bytes under `path`, walked key by key (the figure USAGE must give without reading values). */
async function walked(cubby: Cubby, path: string[], skipUsers: boolean): Promise<{ keys: number; bytes: number }> {
  const raw = rawScopeAt(cubby, path)
  const total = { keys: 0, bytes: 0 }
  if (!(path.length === 3 && path[2] === '')) {
    for (const entry of await raw.list({ reverse: false, values: true, limit: 1000 })) {
      total.keys++
      total.bytes += Buffer.byteLength(entry.key) + entry.value!.byteLength
    }
  }
  for (const name of await raw.scopes({ limit: 1000 })) {
    if (skipUsers && name === '') continue
    const sub = await walked(cubby, [...path, name], false)
    total.keys += sub.keys
    total.bytes += sub.bytes
  }
  return total
}

describe.each(['memory', 'sqlite'] as const)('USAGE of the plugin store on %s (finding 4)', (kind) => {
  it('counts own keys, sub-scopes and the token’s user from the backend counters, reading no value', async () => {
    const store = await host(kind)
    onTestFinished(() => store.close())
    const plugin = store.scope('w', 'p')
    for (let i = 0; i < 50; i++) await plugin.set(`own${i}`, 'v'.repeat(i))
    await plugin.scope('sub', 'deeper').set('k', { a: 1 })
    await plugin.user('alice').set('a', 'alice data')
    await plugin.user('alice').scope('s').set('b', 2)
    await plugin.user('bob').set('secret', 'x'.repeat(1000))
    await plugin.set('short-lived', 'gone soon', { ttl: 1 })
    await store.scope('w', 'other').set('k', 'outside')
    await new Promise((resolve) => setTimeout(resolve, 20))
    const { url, token } = await startServer(store)
    const alice = await openRemote(url, await token({ workspace: 'w', user: 'alice', access: ['read'] }))
    const none = await openRemote(url, await token({ workspace: 'w', access: ['read'] }))

    // The real backend behind the cubby (internal), to see which calls USAGE makes.
    const backend = (store as unknown as { engine: { backend: { get: () => unknown; list: () => unknown } } }).engine
      .backend
    const get = vi.spyOn(backend, 'get')
    const list = vi.spyOn(backend, 'list')
    const aliceUsage = await alice.scope('w', 'p').usage()
    const noUserUsage = await none.scope('w', 'p').usage()
    expect(get).not.toHaveBeenCalled()
    expect(list).not.toHaveBeenCalled()
    get.mockRestore()
    list.mockRestore()

    const own = await walked(store, ['w', 'p'], true)
    const mine = await walked(store, ['w', 'p', '', 'alice'], false)
    expect(noUserUsage).toEqual(own)
    expect(aliceUsage).toEqual({ keys: own.keys + mine.keys, bytes: own.bytes + mine.bytes })
    expect(own.keys).toBe(51)
  })
})
