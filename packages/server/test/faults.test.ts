import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SUBPROTOCOL } from '@cubby/backend-remote/wire'
import { waitFor } from '@cubby/conformance'
import { openCubby } from '@cubby/core'
import { Keyring, mintToken } from '@cubby/server'
import { describe, expect, it, onTestFinished } from 'vitest'
import WebSocket from 'ws'
import { openRemote, startServer } from './support.js'

const fixture = fileURLToPath(new URL('./fixtures/serve-sqlite.mjs', import.meta.url))

/** Starts the server fixture in a child process; resolves once it listens. */
function spawnServer(file: string, port: number, secret: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [fixture, file, String(port)], {
    env: { ...process.env, CUBBY_TEST_SECRET: secret },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      if (out.includes('ready')) resolve(child)
    })
    child.once('exit', (code) => reject(new Error(`server exited with ${code} before it was ready`)))
  })
}

async function freePort(): Promise<number> {
  const local = await openCubby('memory:')
  const { server, port } = await startServer(local)
  await server.close()
  await local.close()
  return port
}

describe('faults', () => {
  it('a server killed and restarted mid-load loses no acknowledged write; the client recovers without reopening', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cubby-remote-faults-'))
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
    const file = join(dir, 'store.db')
    const secretHex = randomBytes(32).toString('hex')
    const keys = new Keyring({ keys: [{ kid: 'k', secret: Buffer.from(secretHex, 'hex') }] })
    const token = await mintToken({ workspace: 'w', plugin: 'p', access: ['read', 'write'], expiresIn: '1h' }, keys)
    const port = await freePort()
    let child = await spawnServer(file, port, secretHex)
    onTestFinished(() => {
      child.kill('SIGKILL')
    })
    const cubby = await openRemote(`cubby+ws://127.0.0.1:${port}`, token, { timeoutMs: 2000 })
    const store = cubby.stores({ workspace: 'w', plugin: 'p' }).store
    const acked: string[] = []
    const failures: string[] = []
    let stop = false
    const writers = Array.from({ length: 4 }, async (_, writer) => {
      for (let i = 0; !stop; i++) {
        const key = `w${writer}-${i}`
        try {
          await store.set(key, i)
          acked.push(key)
        } catch (error) {
          failures.push(`${(error as { code?: string }).code}: ${(error as Error).message}`)
          await new Promise((resolve) => setTimeout(resolve, 20))
        }
      }
    })
    await waitFor(() => acked.length > 200, 'writes before the kill')
    child.kill('SIGKILL')
    await new Promise((resolve) => child.once('exit', resolve))
    await waitFor(() => failures.length > 0, 'calls failing while the server is down')
    child = await spawnServer(file, port, secretHex)
    const before = acked.length
    await waitFor(() => acked.length > before + 200, 'writes after the restart', 20_000)
    stop = true
    await Promise.all(writers)
    expect(failures.every((message) => message.startsWith('BACKEND'))).toBe(true)
    // A write cut off by the kill says its outcome is unknown.
    expect(failures.some((message) => /outcome is unknown|did not answer|cannot reach/.test(message))).toBe(true)
    const values = await store.getMany(acked)
    const missing = acked.filter((_, i) => values[i] === undefined)
    expect(missing).toEqual([])
  })

  it('many idle and slow connections do not starve a normal client, and are closed by the timeouts', async () => {
    const local = await openCubby('memory:')
    onTestFinished(() => local.close())
    const { url, port, token, server } = await startServer(local, {
      authTimeoutMs: 500,
      bodyTimeoutMs: 500,
      idleTimeoutMs: 1000,
    })
    const sockets: Socket[] = []
    const sockets2: WebSocket[] = []
    let greeted = 0
    onTestFinished(() => {
      for (const socket of sockets) socket.destroy()
      for (const ws of sockets2) ws.terminate()
    })
    // Raw TCP connections that never finish their HTTP headers.
    for (let i = 0; i < 100; i++) {
      const socket = connect(port, '127.0.0.1')
      socket.on('error', () => {})
      socket.write('GET / HTTP/1.1\r\nHost: x\r\n')
      sockets.push(socket)
    }
    // WebSocket connections that never authenticate.
    for (let i = 0; i < 50; i++) {
      const ws = new WebSocket(`ws://127.0.0.1:${port}`, SUBPROTOCOL)
      ws.on('error', () => {})
      ws.once('message', () => greeted++) // HELLO: the server accepted it
      sockets2.push(ws)
    }
    // Counted on the client side: under load the first ones may already be closed by the auth timeout.
    await waitFor(() => greeted === 50, 'the idle WebSocket connections')
    const remote = await openRemote(url, await token({ workspace: 'w', plugin: 'p' }), { timeoutMs: 1000 })
    const store = remote.stores({ workspace: 'w', plugin: 'p' }).store
    for (let i = 0; i < 200; i++) {
      await store.set(`k${i}`, i)
      expect(await store.get(`k${i}`)).toBe(i)
    }
    // The unauthenticated ones are closed; the normal client (authenticated, active) stays.
    await waitFor(() => server.connectionCount === 1, 'the server closing idle connections')
    expect(await store.get('k0')).toBe(0)
  })

  it('closes a connection whose frame trickles in slower than bodyTimeoutMs, while others are served', async () => {
    const local = await openCubby('memory:')
    onTestFinished(() => local.close())
    const { url, port, token } = await startServer(local, { bodyTimeoutMs: 300 })
    const slow = new WebSocket(`ws://127.0.0.1:${port}`, SUBPROTOCOL)
    onTestFinished(() => slow.terminate())
    await new Promise((resolve) => slow.once('message', resolve))
    let closed = false
    slow.on('close', () => {
      closed = true
    })
    // A masked binary frame header announcing 100 bytes, then only 10 of them, then one more byte now and then.
    const raw = (slow as unknown as { _socket: Socket })._socket
    raw.write(Buffer.from([0x82, 0x80 | 100, 1, 2, 3, 4, ...new Array(10).fill(0)]))
    const trickle = setInterval(() => raw.write(Buffer.from([0])), 50)
    onTestFinished(() => clearInterval(trickle))
    const remote = await openRemote(url, await token({ workspace: 'w', plugin: 'p' }), { timeoutMs: 1000 })
    const store = remote.stores({ workspace: 'w', plugin: 'p' }).store
    await store.set('k', 1)
    await waitFor(() => closed, 'the server closing the slow connection')
    expect(await store.get('k')).toBe(1)
  })
})
