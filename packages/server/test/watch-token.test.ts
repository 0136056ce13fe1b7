import { FrameReader, type FrameWriter, Kind, Op, readError } from '@cubby/backend-remote/wire'
import { waitFor } from '@cubby/conformance'
import { openCubby } from '@cubby/core'
import { type CubbyServer, mintToken } from '@cubby/server'
import { describe, expect, it, onTestFinished } from 'vitest'
import { Probe } from './probe.js'
import { startServer } from './support.js'

function registrySize(server: CubbyServer): number {
  return (server as unknown as { shared: { watches: { watches: Map<string, unknown> } } }).shared.watches.watches.size
}

/** The WATCH_END frames the probe received: handle and error code. */
function ends(probe: Probe): { handle: number; code: string }[] {
  return probe.events
    .map((frame) => new FrameReader(frame))
    .filter((r) => r.u8() === Kind.WATCH_END)
    .map((r) => ({ handle: r.u32(), code: readError(r).code }))
}

function eventCount(probe: Probe): number {
  return probe.events.filter((frame) => frame[0] === Kind.EVENT).length
}

const at = (path: string[]) => (w: FrameWriter) => {
  w.path(path)
}

async function setup() {
  const host = await openCubby('memory:')
  onTestFinished(() => host.close())
  const s = await startServer(host, { idleTimeoutMs: 200 })
  const probe = await Probe.open(s.port)
  onTestFinished(() => probe.close())
  const alice = host.scope('w', 'p').user('alice')
  return { host, probe, alice, ...s }
}

describe('a watch lives no longer than its session (finding 3)', () => {
  it('ends with WATCH_END UNAUTHORIZED when the token expires, and delivers nothing after', async () => {
    const { probe, server, alice, keys } = await setup()
    const token = await mintToken(
      { workspace: 'w', plugin: 'p', user: 'alice', access: ['watch'], expiresIn: 1000 },
      keys,
    )
    expect(await probe.auth(1, token)).toBeUndefined()
    expect((await probe.sendAs(4, Op.WATCH, 1, at(['', 'alice']))).kind).toBe(Kind.RESULT)
    await alice.set('before', 1)
    await waitFor(() => eventCount(probe) === 1, 'the event before expiry')
    await waitFor(() => ends(probe).length === 1, 'WATCH_END at expiry', 10_000)
    expect(ends(probe)).toEqual([{ handle: 4, code: 'UNAUTHORIZED' }])
    expect(registrySize(server)).toBe(0)
    await alice.set('after', 1)
    // With the watch gone and no valid session, the idle connection is closed; nothing more was delivered.
    await waitFor(() => server.connectionCount === 0, 'the idle connection closed')
    expect(eventCount(probe)).toBe(1)
  })

  it('ends when its session is released', async () => {
    const { probe, server, alice, token } = await setup()
    expect(await probe.auth(1, await token({ workspace: 'w', user: 'alice' }))).toBeUndefined()
    expect(await probe.auth(2, await token({ workspace: 'w', user: 'alice' }))).toBeUndefined()
    expect((await probe.sendAs(4, Op.WATCH, 1, at(['', 'alice']))).kind).toBe(Kind.RESULT)
    expect((await probe.sendAs(5, Op.WATCH, 2, at(['', 'alice']))).kind).toBe(Kind.RESULT)
    expect((await probe.send(Op.RELEASE, 1)).kind).toBe(Kind.RESULT)
    await waitFor(() => ends(probe).length === 1, 'WATCH_END after RELEASE')
    expect(ends(probe)).toEqual([{ handle: 4, code: 'UNAUTHORIZED' }])
    expect(registrySize(server)).toBe(1)
    await alice.set('k', 1)
    // Only the watch of session 2 delivers.
    await waitFor(() => eventCount(probe) === 1, 'one event')
    expect(new FrameReader(probe.events.find((f) => f[0] === Kind.EVENT)!).u8()).toBe(Kind.EVENT)
    expect(probe.events.filter((f) => f[0] === Kind.EVENT).map((f) => f.readUInt32LE(1))).toEqual([5])
  })

  it('ends when its session is authenticated again for another context or with a refused token; a same-context token keeps it', async () => {
    const { probe, server, alice, token } = await setup()
    expect(await probe.auth(1, await token({ workspace: 'w', user: 'alice' }))).toBeUndefined()
    expect(await probe.auth(2, await token({ workspace: 'w', user: 'alice' }))).toBeUndefined()
    expect((await probe.sendAs(4, Op.WATCH, 1, at(['', 'alice']))).kind).toBe(Kind.RESULT)
    expect((await probe.sendAs(5, Op.WATCH, 2, at(['', 'alice']))).kind).toBe(Kind.RESULT)
    // Session 1: a fresh token of the same context (a refresh) keeps the watch.
    expect(await probe.auth(1, await token({ workspace: 'w', user: 'alice' }))).toBeUndefined()
    await alice.set('k1', 1)
    await waitFor(() => eventCount(probe) === 2, 'both watches deliver')
    expect(ends(probe)).toEqual([])
    // Session 1 re-authenticated for another user: its watch ends. Session 2 with a refused token: ends too.
    expect(await probe.auth(1, await token({ workspace: 'w', user: 'bob' }))).toBeUndefined()
    expect(await probe.auth(2, 'not-a-token')).toBe('UNAUTHORIZED')
    await waitFor(() => ends(probe).length === 2, 'both watches ended')
    expect(
      ends(probe)
        .map((e) => [e.handle, e.code])
        .sort(),
    ).toEqual([
      [4, 'UNAUTHORIZED'],
      [5, 'UNAUTHORIZED'],
    ])
    expect(registrySize(server)).toBe(0)
    // A new watch sees the next write; the ended ones saw nothing more.
    expect(await probe.auth(3, await token({ workspace: 'w', user: 'alice' }))).toBeUndefined()
    expect((await probe.sendAs(6, Op.WATCH, 3, at(['', 'alice']))).kind).toBe(Kind.RESULT)
    await alice.set('k2', 1)
    await waitFor(() => eventCount(probe) === 3, 'the new watch delivers')
    expect(
      probe.events
        .filter((f) => f[0] === Kind.EVENT)
        .map((f) => f.readUInt32LE(1))
        .sort(),
    ).toEqual([4, 5, 6])
  })
})
