import { Op } from '@cubby/backend-remote/wire'
import { waitFor } from '@cubby/conformance'
import { openCubby } from '@cubby/core'
import { mintToken } from '@cubby/server'
import { describe, expect, it, onTestFinished } from 'vitest'
import WebSocket from 'ws'
import { Probe } from './probe.js'
import { startServer } from './support.js'

/** Opens a WebSocket; resolves 'open' after HELLO, or the HTTP status it was refused with. */
function tryOpen(port: number): Promise<{ status: 'open'; socket: WebSocket } | { status: number }> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}`, 'cubby.v1')
  onTestFinished(() => socket.terminate())
  return new Promise((resolve, reject) => {
    socket.once('message', () => resolve({ status: 'open', socket }))
    socket.once('unexpected-response', (_request, response) => resolve({ status: response.statusCode ?? 0 }))
    socket.once('error', reject)
  })
}

async function setup(options: Record<string, number>) {
  const host = await openCubby('memory:')
  onTestFinished(() => host.close())
  return startServer(host, options)
}

describe('connection slots (finding 6)', () => {
  it('connections without a session share a small budget; an authenticated one frees its slot', async () => {
    const { port, server, token } = await setup({ maxUnauthenticated: 2 })
    const first = await Probe.open(port)
    onTestFinished(() => first.close())
    expect((await tryOpen(port)).status).toBe('open')
    expect((await tryOpen(port)).status).toBe(503)
    expect(server.connectionCount).toBe(2)
    expect(await first.auth(1, await token({ workspace: 'w' }))).toBeUndefined()
    expect((await tryOpen(port)).status).toBe('open')
    expect(server.connectionCount).toBe(3)
  })

  it('one context holds at most maxConnectionsPerContext connections; others and freed slots still get in', async () => {
    const { port, token } = await setup({ maxConnectionsPerContext: 2 })
    const same = await token({ workspace: 'w', user: 'alice' })
    const probes = await Promise.all([1, 2, 3].map(() => Probe.open(port)))
    for (const p of probes) onTestFinished(() => p.close())
    expect(await probes[0]!.auth(1, same)).toBeUndefined()
    expect(await probes[1]!.auth(1, same)).toBeUndefined()
    // A second session of the same context on a connection already counted takes no new slot.
    expect(await probes[1]!.auth(2, same)).toBeUndefined()
    expect(await probes[2]!.auth(1, same)).toBe('BACKEND')
    expect(await probes[2]!.auth(2, await token({ workspace: 'w', user: 'bob' }))).toBeUndefined()
    probes[0]!.close()
    await waitFor(async () => (await probes[2]!.auth(3, same)) === undefined, 'the freed slot is taken', 5000)
  })

  it('a connection that keeps sending requests after every token expired is closed after authTimeoutMs', async () => {
    const { port, server, keys } = await setup({ authTimeoutMs: 300, idleTimeoutMs: 60_000 })
    const probe = await Probe.open(port)
    onTestFinished(() => probe.close())
    const token = await mintToken({ workspace: 'w', plugin: 'p', access: ['read'], expiresIn: 1000 }, keys)
    expect(await probe.auth(1, token)).toBeUndefined()
    let answers = 0
    const busy = setInterval(() => {
      probe
        .send(Op.USAGE, 1, (w) => w.path(['s']))
        .then(() => answers++)
        .catch(() => {})
    }, 50)
    onTestFinished(() => clearInterval(busy))
    await waitFor(() => server.connectionCount === 0, 'the connection closed', 10_000)
    expect(answers).toBeGreaterThan(0)
  })
})
