import { waitFor } from '@cubby/conformance'
import { openCubby, UnauthorizedError } from '@cubby/core'
import { describe, expect, it, onTestFinished } from 'vitest'
import { endOf, openRemote, startServer } from './support.js'

describe('a token that expires while its connection is open', () => {
  it('stops authorising requests from its exp on (the cubby’s clock), ends its watches, and the client sees UNAUTHORIZED', async () => {
    let skew = 0
    const local = await openCubby({ url: 'memory:', clock: () => Date.now() + skew })
    onTestFinished(() => local.close())
    const { url, token } = await startServer(local)
    const remote = await openRemote(url, await token({ workspace: 'w', plugin: 'p', expiresIn: '10m' }))
    const store = remote.stores({ workspace: 'w', plugin: 'p' }).store
    await store.set('a', 1)
    const watch = store.watch()
    await watch.ready
    const ended = endOf(watch)

    skew = 9 * 60_000 // still inside the token's lifetime
    expect(await store.get('a')).toBe(1)

    skew = 10 * 60_000 + 1000 // past exp: the same open connection and session
    const refused = await store.get('a').catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(UnauthorizedError)
    expect(refused).toMatchObject({ code: 'UNAUTHORIZED', message: expect.stringMatching(/expired/) })
    await expect(store.set('b', 2)).rejects.toMatchObject({ code: 'UNAUTHORIZED' })
    expect(await local.stores({ workspace: 'w', plugin: 'p' }).store.has('b')).toBe(false)

    let endedWith: unknown
    void ended.then((error) => {
      endedWith = error
    })
    await waitFor(() => endedWith !== undefined, 'the watch ended')
    expect(endedWith).toMatchObject({ code: 'UNAUTHORIZED' })

    // A new session with a fresh token works on the same server.
    const renewed = await openRemote(url, await token({ workspace: 'w', plugin: 'p', expiresIn: '1h' }))
    skew = 0
    expect(await renewed.stores({ workspace: 'w', plugin: 'p' }).store.get('a')).toBe(1)
  })
})
