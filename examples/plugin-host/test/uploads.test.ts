import { request } from 'node:http'
import { connect } from 'node:net'
import { type Cubby, openCubby } from '@cubby/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { call, startHost } from './support/host.js'

let cubby: Cubby
let host: Awaited<ReturnType<typeof startHost>>

beforeAll(async () => {
  cubby = await openCubby({ url: 'memory:', limits: { maxValueBytes: 256 * 1024 } })
  host = await startHost(cubby, { maxBufferedBodyBytes: 128 * 1024, bodyIdleTimeoutMs: 300 })
})
afterAll(async () => {
  await host.close()
  await cubby.close()
})

/** Sends `body` chunked (no content-length) and resolves with the status, or the error if the connection broke. */
function chunkedUpload(path: string, body: Buffer, base = host.url): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request(`${base}${path}`, { method: 'PUT', headers: { 'transfer-encoding': 'chunked' } })
    req.on('response', (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message))
    for (let at = 0; at < body.length; at += 16 * 1024) req.write(body.subarray(at, at + 16 * 1024))
    req.end()
  })
}

/** Raw HTTP over a socket: sends `text`, resolves with the status line once it arrives (or what ended the socket). */
function raw(text: string, keepOpen = false): { status: Promise<string>; close(): void } {
  const url = new URL(host.url)
  const socket = connect(Number(url.port), url.hostname)
  socket.on('error', () => {})
  socket.write(text)
  let received = ''
  const status = new Promise<string>((resolve) => {
    socket.on('data', (data) => {
      received += data.toString('latin1')
      if (received.includes('\r\n')) resolve(received.slice(0, received.indexOf('\r\n')))
    })
    socket.on('close', () => resolve(received || 'closed'))
  })
  if (!keepOpen) void status.then(() => socket.destroy())
  return { status, close: () => socket.destroy() }
}

describe('uploads: refused with a status, never a reset', () => {
  it('a chunked upload over the size limit gets 413', async () => {
    const small = await startHost(cubby, { maxBodyBytes: 64 * 1024 })
    try {
      expect(await chunkedUpload('/files/big', Buffer.alloc(100 * 1024), small.url)).toBe(413)
    } finally {
      await small.close()
    }
  })

  it('a chunked upload into the full shared budget gets 503', async () => {
    expect(await chunkedUpload('/files/busy', Buffer.alloc(200 * 1024))).toBe(503)
    // The budget is given back: a smaller upload fits.
    expect(await chunkedUpload('/files/small', Buffer.alloc(64 * 1024))).toBe(201)
  })

  it('sockets that declare large bodies and send one byte do not hold the budget', async () => {
    const stalls = [1, 2, 3].map(() =>
      raw('PUT /files/stall HTTP/1.1\r\nhost: x\r\ncontent-length: 100000\r\n\r\nx', true),
    )
    // While they are open (and before their bodies time out), an ordinary upload fits.
    const upload = await call(`${host.url}/files/ok`, { method: 'PUT', body: Buffer.alloc(64 * 1024) })
    expect(upload.status).toBe(201)
    // And a stalled body gets 408 within the idle timeout, not Node's 300 s request timeout.
    for (const stall of stalls) expect(await stall.status).toBe('HTTP/1.1 408 Request Timeout')
    for (const stall of stalls) stall.close()
  })
})

describe('input the host refuses', () => {
  it('an empty content-type is served back as application/octet-stream', async () => {
    const put = await call(`${host.url}/files/typeless`, {
      method: 'PUT',
      body: Buffer.from('abc'),
      headers: { 'content-type': '' },
    })
    expect(put.status).toBe(201)
    const got = await fetch(`${host.url}/files/typeless`)
    expect(got.headers.get('content-type')).toBe('application/octet-stream')
  })

  it('a JSON body that is not UTF-8 gets 400, not U+FFFD', async () => {
    const bad = Buffer.concat([Buffer.from('{"title":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')])
    const reply = await call(`${host.url}/todos/`, {
      method: 'POST',
      body: bad,
      headers: { 'x-user': 'alice', 'content-type': 'application/json' },
    })
    expect(reply).toMatchObject({ status: 400, body: { error: { code: 'BAD_REQUEST' } } })
    expect(await call(`${host.url}/counter/c/incr`, { method: 'POST', body: Buffer.from([0x7b, 0xff]) })).toMatchObject(
      { status: 400 },
    )
  })

  it('?by= must be a decimal integer', async () => {
    for (const by of ['', '0x10', '1e3', ' 5', '5.0', '0b1']) {
      const reply = await call(`${host.url}/counter/c/incr?by=${encodeURIComponent(by)}`, { method: 'POST' })
      expect(reply.status, by).toBe(400)
    }
    expect((await call(`${host.url}/counter/c/incr?by=-7`, { method: 'POST' })).body.value).toBe(-7)
  })

  it('a user header sent twice is refused, not joined into "alice, bob"', async () => {
    const twice = raw('GET /todos/ HTTP/1.1\r\nhost: x\r\nx-user: alice\r\nx-user: bob\r\nconnection: close\r\n\r\n')
    expect(await twice.status).toBe('HTTP/1.1 400 Bad Request')
  })
})
