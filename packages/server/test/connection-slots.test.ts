import type { IncomingMessage } from 'node:http'
import { Op } from '@cubby/backend-remote/wire'
import { waitFor } from '@cubby/conformance'
import { openCubby } from '@cubby/core'
import { mintToken } from '@cubby/server'
import { describe, expect, it, onTestFinished } from 'vitest'
import WebSocket from 'ws'
import { addressKey } from '../src/client-address.js'
import { Probe } from './probe.js'
import { startServer } from './support.js'

/** Opens a WebSocket; resolves 'open' after HELLO, or the HTTP status it was refused with. */
function tryOpen(
  port: number,
  options: WebSocket.ClientOptions = {},
): Promise<{ status: 'open'; socket: WebSocket } | { status: number }> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}`, 'cubby.v1', options)
  onTestFinished(() => socket.terminate())
  return new Promise((resolve, reject) => {
    socket.once('message', () => resolve({ status: 'open', socket }))
    socket.once('unexpected-response', (_request, response) => resolve({ status: response.statusCode ?? 0 }))
    socket.once('error', reject)
  })
}

async function setup(options: Record<string, unknown>) {
  const host = await openCubby('memory:')
  onTestFinished(() => host.close())
  return startServer(host, options)
}

describe('connection slots (finding 6)', () => {
  it('connections without a session share a small budget; an authenticated one frees its slot', async () => {
    const { port, server, token } = await setup({ maxUnauthenticated: 2, maxUnauthenticatedPerAddress: 2 })
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

  it('one client address holds at most maxUnauthenticatedPerAddress of the budget; other addresses still get in', async () => {
    // Loopback has all of 127/8: each local address is another client.
    const { port, server, token } = await setup({ maxUnauthenticated: 4, maxUnauthenticatedPerAddress: 2 })
    const from = (address: string) => tryOpen(port, { localAddress: address })
    const first = await from('127.0.0.2')
    expect(first.status).toBe('open')
    expect((await from('127.0.0.2')).status).toBe('open')
    expect((await from('127.0.0.2')).status).toBe(503)
    expect((await from('127.0.0.3')).status).toBe('open')
    expect((await from('127.0.0.3')).status).toBe('open')
    expect((await from('127.0.0.4')).status).toBe(503) // the whole budget is taken
    expect(server.connectionCount).toBe(4)
    // A connection that authenticates frees its address's slot.
    const probe = await Probe.open(port, { localAddress: '127.0.0.5' }).catch(() => undefined)
    expect(probe).toBeUndefined() // still full
    ;(first as { socket: WebSocket }).socket.terminate()
    await waitFor(() => server.connectionCount === 3, 'the closed connection is gone', 5000)
    const authed = await Probe.open(port, { localAddress: '127.0.0.2' })
    onTestFinished(() => authed.close())
    expect(await authed.auth(1, await token({ workspace: 'w' }))).toBeUndefined()
    expect((await from('127.0.0.2')).status).toBe('open')
  })

  it('groups IPv6 clients by /64 and unwraps IPv4-mapped addresses', () => {
    expect(addressKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64')
    expect(addressKey('2001:db8:1:2::9')).toBe('2001:db8:1:2::/64')
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64')
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64')
    expect(addressKey('::1')).toBe('0:0:0:0::/64')
    expect(addressKey('::ffff:10.1.2.3')).toBe('10.1.2.3')
    expect(addressKey('10.1.2.3')).toBe('10.1.2.3')
    expect(addressKey(undefined)).toBe('unknown')
  })

  it('a custom clientAddress counts clients behind a proxy apart; one that throws refuses with 500', async () => {
    const { port } = await setup({
      maxUnauthenticatedPerAddress: 1,
      clientAddress: (request: IncomingMessage) => {
        const client = request.headers['x-client']
        if (client === 'broken') throw new Error('no address')
        return String(client)
      },
    })
    const as = (client: string) => tryOpen(port, { headers: { 'x-client': client } })
    expect((await as('a')).status).toBe('open')
    expect((await as('a')).status).toBe(503)
    expect((await as('b')).status).toBe('open')
    expect((await as('broken')).status).toBe(500)
  })

  it('allowedOrigins refuses a browser request from another origin with 403; requests without Origin still connect', async () => {
    const { port } = await setup({ allowedOrigins: ['https://App.example/'] })
    expect((await tryOpen(port, { origin: 'https://evil.example' })).status).toBe(403)
    expect((await tryOpen(port, { origin: 'https://app.example' })).status).toBe('open')
    expect((await tryOpen(port)).status).toBe('open')
    await expect(setup({ allowedOrigins: 'https://app.example' })).rejects.toThrow(/allowedOrigins/)
  })
})
