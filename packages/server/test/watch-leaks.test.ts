import { FrameReader, type FrameWriter, Kind, Op } from '@cubby/backend-remote/wire'
import { waitFor } from '@cubby/conformance'
import { openCubby } from '@cubby/core'
import type { CubbyServer } from '@cubby/server'
import { describe, expect, it, onTestFinished } from 'vitest'
import { Probe } from './probe.js'
import { startServer } from './support.js'

/** The server's watch registry (private), inspected to check what really stays alive. */
function registry(server: CubbyServer): Map<string, { detachedAt: number | undefined }> {
  return (server as unknown as { shared: { watches: { watches: Map<string, { detachedAt: number | undefined }> } } })
    .shared.watches.watches
}

async function setup(options: { maxWatches?: number; watchResumeMs?: number } = {}) {
  const host = await openCubby('memory:')
  onTestFinished(() => host.close())
  const s = await startServer(host, options)
  const token = await s.token({ workspace: 'w', access: ['watch'] })
  const probe = await Probe.open(s.port)
  onTestFinished(() => probe.close())
  expect(await probe.auth(1, token)).toBeUndefined()
  return { host, probe, tokenFor: token, ...s }
}

const at = (path: string[]) => (w: FrameWriter) => {
  w.path(path)
}

describe('watch handles (finding 2)', () => {
  it('a WATCH whose id is a live watch handle is refused; the registry keeps one watch, swept after the connection', async () => {
    const { probe, server } = await setup({ watchResumeMs: 50 })
    expect((await probe.sendAs(7, Op.WATCH, 1, at(['a']))).kind).toBe(Kind.RESULT)
    for (let i = 0; i < 5; i++) {
      const again = await probe.sendAs(7, Op.WATCH, 1, at(['a']))
      expect(again.kind).toBe(Kind.ERROR)
      expect(again.code).toBe('INVALID_CONFIG')
    }
    expect(registry(server).size).toBe(1)
    probe.close()
    await waitFor(() => registry(server).size === 0, 'every watch swept', 5000)
  })

  it('concurrent WATCHes with one id, or past maxWatches, start at most one watch each and never exceed maxWatches', async () => {
    const { probe, server } = await setup({ maxWatches: 3, watchResumeMs: 50 })
    const answers = await Promise.all(Array.from({ length: 40 }, () => probe.sendAs(9, Op.WATCH, 1, at(['a']))))
    expect(answers.filter((a) => a.kind === Kind.RESULT)).toHaveLength(1)
    const distinct = await Promise.all(
      Array.from({ length: 10 }, (_, i) => probe.sendAs(100 + i, Op.WATCH, 1, at(['b']))),
    )
    expect(distinct.filter((a) => a.kind === Kind.RESULT)).toHaveLength(2)
    expect(registry(server).size).toBe(3)
    probe.close()
    await waitFor(() => registry(server).size === 0, 'every watch swept', 5000)
  })

  it('RESUME with an id already in use is refused, and RESUME on a closed connection attaches nothing', async () => {
    const { probe, server, port, tokenFor } = await setup({ watchResumeMs: 60_000 })
    const started = await probe.sendAs(5, Op.WATCH, 1, at(['a']))
    const watchId = started.reader.str()
    const other = await probe.sendAs(6, Op.WATCH, 1, at(['b']))
    expect(other.kind).toBe(Kind.RESULT)
    const clash = await probe.sendAs(6, Op.RESUME, 1, (w) => w.str(watchId).f64(0))
    expect(clash.kind).toBe(Kind.ERROR)
    expect(clash.code).toBe('INVALID_CONFIG')
    probe.close()
    await waitFor(() => [...registry(server).values()].every((w) => w.detachedAt !== undefined), 'the condition', 5000)

    // A connection that closes while its RESUME waits for the token: the watch stays detached (sweepable).
    const late = await Probe.open(port)
    onTestFinished(() => late.close())
    type Internals = {
      connections: Set<{ isClosed: boolean; watches: { resume: (...args: unknown[]) => Promise<unknown> } }>
    }
    await waitFor(() => (server as unknown as Internals).connections.size === 1, 'the condition', 5000)
    const [connection] = (server as unknown as Internals).connections
    late.close()
    await waitFor(() => connection!.isClosed, 'the condition', 5000)
    const { sessionOf } = await import('../src/access.js')
    const { verifyToken } = await import('../src/tokens.js')
    const session = sessionOf(
      await verifyToken(
        tokenFor,
        (server as unknown as { shared: { options: { keys: never } } }).shared.options.keys,
        Date.now(),
      ),
    )
    const body = new (await import('@cubby/backend-remote/wire')).FrameWriter()
    body.str(watchId).f64(0)
    await expect(connection!.watches.resume(session, 11, new FrameReader(body.finish()))).rejects.toMatchObject({
      code: 'BACKEND',
    })
    expect([...registry(server).values()].every((w) => w.detachedAt !== undefined)).toBe(true)
  })

  it('the sweeper collects a watch still attached to a closed connection', async () => {
    const { probe, server } = await setup({ watchResumeMs: 50 })
    const started = await probe.sendAs(3, Op.WATCH, 1, at(['a']))
    const id = started.reader.str()
    const watch = (registry(server) as unknown as Map<string, { attach: (...a: unknown[]) => void }>).get(id)!
    // Attach it to a target that is already closed, as a RESUME racing a close once could.
    watch.attach({ isClosed: true, event() {}, end() {} }, 3, 0)
    await waitFor(() => registry(server).size === 0, 'every watch swept', 5000)
  })
})
