import { tokenContext } from '@cubby/backend-remote'
import { openCubby, store, user } from '@cubby/core'
import { describe, expect, it } from 'vitest'
import { openRemote, startServer } from './support.js'

describe('remote basics', () => {
  it('round-trips values, lists and counts through a root token', async () => {
    const local = await openCubby('memory:')
    const { url, token } = await startServer(local)
    const remote = await openRemote(url, await token({ root: true }))
    const s = remote.scope('a', 'b')
    await s.set('k', { n: 1, bytes: new Uint8Array([1, 2, 3]) })
    expect(await s.get('k')).toEqual({ n: 1, bytes: new Uint8Array([1, 2, 3]) })
    expect(await local.scope('a', 'b').get('k')).toEqual({ n: 1, bytes: new Uint8Array([1, 2, 3]) })
    expect(await s.incr('c', 5)).toBe(5)
    expect((await s.list()).entries.map((e) => e.key)).toEqual(['c', 'k'])
    expect(await s.usage()).toEqual(await local.scope('a', 'b').usage())
    await local.close()
  })

  it('runs ambient store/user code in the token context', async () => {
    const local = await openCubby('memory:')
    const { url, token } = await startServer(local)
    const t = await token({ workspace: 'w', plugin: 'p', user: 'alice' })
    const remote = await openRemote(url, t)
    await remote.run(tokenContext(t), async () => {
      await store.set('shared', 1)
      await user.set('mine', 2)
      expect(await user.get('mine')).toBe(2)
    })
    const { store: s, user: u } = local.stores({ workspace: 'w', plugin: 'p', user: 'alice' })
    expect(await s.get('shared')).toBe(1)
    expect(await u!.get('mine')).toBe(2)
    await local.close()
  })
})
