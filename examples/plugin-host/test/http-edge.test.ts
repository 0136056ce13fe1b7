import { type IncomingMessage, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type Cubby, openCubby } from '@cubby/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHost, type Host } from '../src/index.js'
import { samplePlugins } from '../src/plugins/index.js'
import { call } from './support/host.js'

/** The UTF-8 bytes of `text` as a header value: what curl sends for `-H 'x-user: ålice'`. */
const utf8 = (text: string) => Buffer.from(text, 'utf8').toString('latin1')

let cubby: Cubby
let host: Host
let url: string
const logged: unknown[] = []

beforeAll(async () => {
  cubby = await openCubby({ url: 'memory:', limits: { maxValueBytes: 256 * 1024 } })
  host = createHost({
    cubby,
    plugins: samplePlugins,
    adminToken: 'secret',
    maxBufferedBodyBytes: 128 * 1024,
    log: (message, error) => logged.push([message, error]),
  })
  await new Promise<void>((resolve) => host.server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(host.server.address() as AddressInfo).port}`
})
afterAll(async () => {
  await host.close()
  await cubby.close()
})

describe('user and workspace headers are UTF-8', () => {
  it('a non-ASCII user is the same user for every client, and the admin delete finds it', async () => {
    const created = await call(`${url}/todos`, {
      method: 'POST',
      headers: { 'x-user': utf8('ålice') },
      json: { title: 't' },
    })
    expect(created.status).toBe(201)
    expect(await cubby.scope('default', 'todos').user('ålice').usage()).toMatchObject({ keys: 1 })
    const auth = { authorization: 'Bearer secret' }
    const dropped = await call(`${url}/admin/users/${encodeURIComponent('ålice')}`, { method: 'DELETE', headers: auth })
    expect(dropped.body).toMatchObject({ user: 'ålice', deletedKeys: { todos: 1 } })
    expect((await call(`${url}/todos`, { headers: { 'x-user': utf8('ålice') } })).body.items).toEqual([])
  })

  it('bytes that are not UTF-8 (a Latin-1 "å") are refused with 400', async () => {
    const latin1 = await call(`${url}/todos`, { headers: { 'x-user': 'ålice' } })
    expect(latin1).toMatchObject({ status: 400, body: { error: { code: 'BAD_REQUEST' } } })
    expect(latin1.body.error.message).toContain('x-user header is not UTF-8')
    expect((await call(`${url}/counter/c`, { headers: { 'x-workspace': '\xff' } })).status).toBe(400)
  })
})

describe('malformed percent-encoding is 400, on plugin and admin routes', () => {
  it('answers 400 BAD_REQUEST, not 404 or 500', async () => {
    for (const path of ['/counter/%zz', '/counter/%ED%A0%80', '/files/%E2%82']) {
      expect(await call(`${url}${path}`), path).toMatchObject({ status: 400, body: { error: { code: 'BAD_REQUEST' } } })
    }
    const auth = { authorization: 'Bearer secret' }
    for (const user of ['%zz', '%ED%A0%80']) {
      const reply = await call(`${url}/admin/users/${user}`, { method: 'DELETE', headers: auth })
      expect(reply, user).toMatchObject({ status: 400, body: { error: { code: 'BAD_REQUEST' } } })
    }
    expect(logged).toEqual([])
  })
})

describe('bodies and downloads', () => {
  it('HEAD / and HEAD /health answer like GET, without a body', async () => {
    for (const path of ['/', '/health']) {
      const response = await fetch(`${url}${path}`, { method: 'HEAD' })
      expect(response.status, path).toBe(200)
      expect(await response.text()).toBe('')
    }
  })

  it('files come back as attachments that browsers do not sniff', async () => {
    const put = await call(`${url}/files/page.html`, {
      method: 'PUT',
      body: '<script>alert(1)</script>',
      headers: { 'content-type': 'text/html' },
    })
    expect(put.status).toBe(201)
    const response = await fetch(`${url}/files/page.html`)
    expect(response.headers.get('content-type')).toBe('text/html')
    expect(response.headers.get('content-disposition')).toBe("attachment; filename*=UTF-8''page.html")
    expect(response.headers.get('x-content-type-options')).toBe('nosniff')
  })

  it("bodies over the store's value limit are refused before being read; too much at once is 503", async () => {
    // maxBodyBytes defaults to limits.maxValueBytes (256 KiB here).
    const big = await call(`${url}/files/big`, { method: 'PUT', body: Buffer.alloc(300 * 1024) })
    expect(big).toMatchObject({ status: 413, body: { error: { code: 'PAYLOAD_TOO_LARGE' } } })
    // Within the limit, but over what all uploads may buffer together (128 KiB here).
    const busy = await call(`${url}/files/busy`, { method: 'PUT', body: Buffer.alloc(200 * 1024) })
    expect(busy).toMatchObject({ status: 503, body: { error: { code: 'BUSY' } } })
    // The budget is given back: a smaller upload fits.
    expect((await call(`${url}/files/small`, { method: 'PUT', body: Buffer.alloc(64 * 1024) })).status).toBe(201)
  })

  it('a client that drops an upload is not logged as an error', async () => {
    const received = new Promise<IncomingMessage>((resolve) => host.server.once('request', resolve))
    const upload = request(`${url}/files/slow`, {
      method: 'PUT',
      headers: { 'content-length': String(100 * 1024) },
    })
    upload.on('error', () => {})
    upload.write(Buffer.alloc(16 * 1024))
    // Once the server is reading it, hang up.
    const req = await received
    req.on('error', () => {}) // 'aborted': what the host must take in its stride
    const closed = new Promise<void>((resolve) => (req.closed ? resolve() : req.once('close', () => resolve())))
    upload.destroy()
    await closed
    // A full round trip after it: by then the handler has seen the aborted body.
    expect((await call(`${url}/health`)).status).toBe(200)
    expect(logged).toEqual([])
  })

  it('the counter refuses steps that could round a counter past 2^53', async () => {
    expect((await call(`${url}/counter/big/incr?by=1000000000`, { method: 'POST' })).body.value).toBe(1e9)
    const tooBig = await call(`${url}/counter/big/incr?by=9007199254740991`, { method: 'POST' })
    expect(tooBig).toMatchObject({ status: 400, body: { error: { code: 'BAD_REQUEST' } } })
  })
})
