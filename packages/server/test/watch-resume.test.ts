import { connect, createServer, type Socket } from 'node:net'
import { waitFor } from '@cubby/conformance'
import { openCubby } from '@cubby/core'
import type { CubbyServer } from '@cubby/server'
import { describe, expect, it, onTestFinished } from 'vitest'
import { collectUntil, endOf, openRemote, startServer } from './support.js'

/** A TCP proxy to `port` whose connections can be cut. */
async function proxy(port: number) {
  const open = new Set<Socket>()
  let refusing = false
  const server = createServer((client) => {
    if (refusing) {
      client.destroy()
      return
    }
    const upstream = connect(port, '127.0.0.1')
    for (const s of [client, upstream]) {
      open.add(s)
      s.on('error', () => {})
      s.on('close', () => open.delete(s))
    }
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  onTestFinished(() => {
    for (const s of open) s.destroy()
    server.close()
  })
  return {
    port: (server.address() as { port: number }).port,
    cut: () => {
      for (const s of open) s.destroy()
    },
    /** Refuses (`true`) or accepts again (`false`) new connections: the server is unreachable meanwhile. */
    refuse: (on: boolean) => {
      refusing = on
    },
  }
}

/** The server's watch registry (private): whether it still holds a detached watch. */
function watchesOf(server: CubbyServer): Map<string, unknown> {
  return (server as unknown as { shared: { watches: { watches: Map<string, unknown> } } }).shared.watches.watches
}

describe('watch over a dropped connection', () => {
  it('resumes after a reconnect without losing or duplicating events', async () => {
    const local = await openCubby('memory:')
    onTestFinished(() => local.close())
    const { port, token } = await startServer(local)
    const relay = await proxy(port)
    const remote = await openRemote(`cubby+ws://127.0.0.1:${relay.port}`, await token({ workspace: 'w', plugin: 'p' }))
    const watch = remote.stores({ workspace: 'w', plugin: 'p' }).store.watch()
    await watch.ready
    const { seen, done: reading } = collectUntil(watch, 'k99')
    const store = local.stores({ workspace: 'w', plugin: 'p' }).store
    for (let i = 0; i < 100; i++) {
      await store.set(`k${i}`, i)
      if (i === 30 || i === 60) relay.cut()
    }
    await reading
    expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => `k${i}`))
  })

  it('ends with a BackendError when the connection stayed down past the resume window of the server', async () => {
    const local = await openCubby('memory:')
    onTestFinished(() => local.close())
    const { port, token, server } = await startServer(local, { watchResumeMs: 50 })
    const relay = await proxy(port)
    const remote = await openRemote(`cubby+ws://127.0.0.1:${relay.port}`, await token({ workspace: 'w', plugin: 'p' }))
    const watch = remote.stores({ workspace: 'w', plugin: 'p' }).store.watch()
    await watch.ready
    const ended = endOf(watch)
    // Keep the server unreachable until it has forgotten the watch (its resume window passed), then let the client
    // reconnect: its RESUME must be refused and the watch end. (Cutting on a timer instead raced a quick reconnect
    // that resumed inside the window, and the watch never ended.)
    relay.refuse(true)
    relay.cut()
    await waitFor(() => server.connectionCount === 0, 'the server noticing the drop')
    await waitFor(() => watchesOf(server).size === 0, 'the server forgetting the detached watch')
    relay.refuse(false)
    expect((await ended)?.code).toBe('BACKEND')
  })
})
