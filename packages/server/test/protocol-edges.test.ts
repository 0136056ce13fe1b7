import { connect } from 'node:net'
import { FrameWriter, Op } from '@cubby/backend-remote/wire'
import { waitFor } from '@cubby/conformance'
import { openCubby } from '@cubby/core'
import { SignJWT } from 'jose'
import { describe, expect, it, onTestFinished } from 'vitest'
import { Probe } from './probe.js'
import { maskedFrame, rawConnect } from './rawws.js'
import { startServer } from './support.js'

async function setup(options: Record<string, number> = {}) {
  const host = await openCubby('memory:')
  onTestFinished(() => host.close())
  return startServer(host, options)
}

const request = (op: number, id: number, body: (w: FrameWriter) => void) => {
  const w = new FrameWriter()
  w.u8(op).u32(id).u32(1)
  body(w)
  return w.finish()
}

describe('protocol edges (finding 7)', () => {
  it('a partial frame that starts in the same chunk as a complete one is still bound by bodyTimeoutMs', async () => {
    const { port, server, token } = await setup({ bodyTimeoutMs: 300, idleTimeoutMs: 60_000 })
    const socket = await rawConnect(port)
    let closeCode: number | undefined
    socket.on('data', (d: Buffer) => {
      const at = d.indexOf(0x88)
      if (at >= 0 && d.length >= at + 4) closeCode ??= d.readUInt16BE(at + 2)
    })
    const watchToken = await token({ workspace: 'w', access: ['watch'] })
    const auth = maskedFrame(request(Op.AUTH, 2, (w) => w.str(watchToken)))
    const watch = maskedFrame(request(Op.WATCH, 3, (w) => w.path([])))
    socket.write(auth)
    await waitFor(() => server.connectionCount === 1, 'connected')
    const big = maskedFrame(new Uint8Array(60_000))
    socket.write(Buffer.concat([watch, big.subarray(0, big.length - 10)]))
    await waitFor(() => server.connectionCount === 0, 'the slow frame closed the connection', 10_000)
    await waitFor(() => closeCode !== undefined, 'the close frame arrived', 5000)
    expect(closeCode).toBe(4408)
  })

  it('a text frame is a protocol error: the connection is closed', async () => {
    const { port, server, token } = await setup()
    const socket = await rawConnect(port)
    await waitFor(() => server.connectionCount === 1, 'connected')
    const tok = await token({ workspace: 'w' })
    socket.write(maskedFrame(request(Op.AUTH, 3, (w) => w.str(tok))))
    // A well-formed USAGE request (every byte ASCII, so valid UTF-8) sent as a text frame.
    const text = request(Op.USAGE, 4, (w) => w.path([]))
    expect(text.every((byte) => byte < 0x80)).toBe(true)
    socket.write(maskedFrame(text, 1))
    await waitFor(() => server.connectionCount === 0, 'closed', 5000)
  })

  it('a token issued in the future is refused', async () => {
    const { port, keys } = await setup()
    const secret = (keys as unknown as { secretFor: (kid: string) => Uint8Array }).secretFor(keys.current)
    const sign = (iat: number) =>
      new SignJWT({ acc: ['read'], cw: 'w', cp: 'p' })
        .setProtectedHeader({ alg: 'HS256', kid: keys.current, typ: 'cubby+jwt' })
        .setIssuedAt(iat)
        .setExpirationTime('1h')
        .sign(secret)
    const probe = await Probe.open(port)
    onTestFinished(() => probe.close())
    const now = Math.floor(Date.now() / 1000)
    expect(await probe.auth(1, await sign(now + 3600))).toBe('UNAUTHORIZED')
    expect(await probe.auth(2, await sign(now + 5))).toBeUndefined()
  })

  it('a handshake that never completes is cut at authTimeoutMs when the server listens itself', async () => {
    const { port } = await setup({ authTimeoutMs: 400 })
    const socket = connect(port, '127.0.0.1')
    onTestFinished(() => {
      socket.destroy()
    })
    socket.on('error', () => {})
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
    socket.resume() // read the 408, so 'close' is seen
    socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n')
    await new Promise<void>((resolve) => socket.once('close', () => resolve()))
    expect(socket.destroyed).toBe(true)
  })
})
