import { connect, createServer, type Socket } from 'node:net'
import { FrameWriter, Op, SUBPROTOCOL } from '@cubby/backend-remote/wire'
import { waitFor } from '@cubby/conformance'
import { openCubby } from '@cubby/core'
import { describe, expect, it, onTestFinished } from 'vitest'
import WebSocket from 'ws'
import { collectUntil, openRemote, startServer } from './support.js'

/**
 * A TCP relay to `port` that can turn its open connections into black holes: bytes sent either way vanish and
 * nothing is closed, as with a peer that froze or a network path that died without a reset. New connections work.
 */
async function relay(port: number) {
  const open = new Set<Socket>()
  const pairs: [Socket, Socket][] = []
  let connections = 0
  const server = createServer((client) => {
    connections++
    const upstream = connect(port, '127.0.0.1')
    for (const s of [client, upstream]) {
      open.add(s)
      s.on('error', () => {})
      s.on('close', () => open.delete(s))
    }
    client.pipe(upstream).pipe(client)
    pairs.push([client, upstream])
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  onTestFinished(() => {
    for (const s of open) s.destroy()
    server.close()
  })
  return {
    port: (server.address() as { port: number }).port,
    get connections() {
      return connections
    },
    freeze: () => {
      for (const [client, upstream] of pairs.splice(0)) {
        client.unpipe(upstream)
        upstream.unpipe(client)
        client.on('data', () => {})
        upstream.on('data', () => {})
      }
    },
  }
}

describe('keepalive', () => {
  it('a client whose connection goes silent fails its call with BACKEND and reconnects instead of hanging', async () => {
    const local = await openCubby('memory:')
    onTestFinished(() => local.close())
    const { port, token } = await startServer(local)
    const path = await relay(port)
    const remote = await openRemote(`cubby+ws://127.0.0.1:${path.port}`, await token({ workspace: 'w', plugin: 'p' }), {
      timeoutMs: 1000,
    })
    const store = remote.stores({ workspace: 'w', plugin: 'p' }).store
    await store.set('a', 1)
    expect(path.connections).toBe(1)
    path.freeze()
    await expect(store.get('a')).rejects.toMatchObject({ code: 'BACKEND' })
    // Without the keepalive every later call would go to the frozen socket and time out too.
    await waitFor(async () => (await store.get('a').catch(() => undefined)) === 1, 'a call served on a new socket')
    expect(path.connections).toBeGreaterThanOrEqual(2)
  })

  it('a client with only a watch open notices a dead connection and resumes the watch on a new one', async () => {
    const local = await openCubby('memory:')
    onTestFinished(() => local.close())
    const { port, token } = await startServer(local)
    const path = await relay(port)
    const remote = await openRemote(`cubby+ws://127.0.0.1:${path.port}`, await token({ workspace: 'w', plugin: 'p' }), {
      timeoutMs: 600,
    })
    const watch = remote.stores({ workspace: 'w', plugin: 'p' }).store.watch()
    await watch.ready
    const { seen, done: reading } = collectUntil(watch, 'after')
    const store = local.stores({ workspace: 'w', plugin: 'p' }).store
    await store.set('before', 1)
    await waitFor(() => seen.length === 1, 'the first event')
    path.freeze()
    await store.set('during', 1)
    await waitFor(() => path.connections >= 2, 'a new connection after the silent one')
    await store.set('after', 1)
    await reading
    expect(seen).toEqual(['before', 'during', 'after'])
  })

  it('the server pings a silent client, cuts one that does not answer, and keeps one that does', async () => {
    const local = await openCubby('memory:')
    onTestFinished(() => local.close())
    const { port, token, server } = await startServer(local, {
      pingIntervalMs: 100,
      // Wide: the answering client must not be cut because this busy test process answered a pong late.
      pongTimeoutMs: 2000,
      idleTimeoutMs: 60_000,
    })
    const open = async (autoPong: boolean) => {
      const socket = new WebSocket(`ws://127.0.0.1:${port}`, SUBPROTOCOL, { autoPong })
      onTestFinished(() => socket.terminate())
      let pings = 0
      socket.on('ping', () => pings++)
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
      await new Promise<void>((resolve, reject) => {
        socket.once('message', () => resolve())
        socket.once('error', reject)
      })
      const w = new FrameWriter()
        .u8(Op.AUTH)
        .u32(1)
        .u32(1)
        .str(await token({ workspace: 'w', plugin: 'p' }))
      socket.send(w.finish())
      await new Promise((resolve) => socket.once('message', resolve))
      return { closed, pings: () => pings, socket }
    }
    const deaf = await open(false)
    const alive = await open(true)
    await deaf.closed
    expect(deaf.pings()).toBeGreaterThanOrEqual(1)
    await waitFor(() => alive.pings() >= 3, 'the answering client pinged again and again')
    expect(alive.socket.readyState).toBe(WebSocket.OPEN)
    expect(server.connectionCount).toBe(1)
  })

  it('refuses keepalive options that are not positive integers', async () => {
    const local = await openCubby('memory:')
    onTestFinished(() => local.close())
    await expect(startServer(local, { pingIntervalMs: 0 })).rejects.toMatchObject({ code: 'INVALID_CONFIG' })
    await expect(startServer(local, { pongTimeoutMs: -1 })).rejects.toMatchObject({ code: 'INVALID_CONFIG' })
  })
})
