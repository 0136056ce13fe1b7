import { randomBytes } from 'node:crypto'
import { type Cubby, openCubby } from '@cubby/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { call, startHost } from './support/host.js'
import { openSse } from './support/sse.js'

let cubby: Cubby
let now = Date.now()
let url: string
let close: () => Promise<void>

beforeAll(async () => {
  // An injected clock lets the cache test step past a TTL without waiting.
  cubby = await openCubby({
    url: 'memory:',
    clock: () => now,
    quotas: { user: { maxBytes: 64 * 1024 } },
  })
  ;({ url, close } = await startHost(cubby, { maxBodyBytes: 1024 * 1024, adminToken: 'secret' }))
})
afterAll(async () => {
  await close()
  await cubby.close()
})

describe('the host', () => {
  it('lists plugins and routes on /', async () => {
    const { status, body } = await call(`${url}/`)
    expect(status).toBe(200)
    expect(body.backend).toBe('memory')
    expect(body.plugins.map((p: { id: string }) => p.id)).toEqual(['todos', 'counter', 'files', 'cache', 'feed'])
    expect(body.plugins[0].routes).toContain('PATCH /todos/:id')
  })

  it('answers unknown routes 404 and wrong methods 405, as JSON', async () => {
    expect(await call(`${url}/nope`)).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } })
    expect(await call(`${url}/todos/x/y`)).toMatchObject({ status: 404 })
    expect(await call(`${url}/counter/x`, { method: 'PUT' })).toMatchObject({
      status: 405,
      body: { error: { code: 'METHOD_NOT_ALLOWED' } },
    })
  })
})

describe('todos (per user)', () => {
  it('keeps each user to their own list; without x-user it is 401', async () => {
    const created = await call(`${url}/todos`, { method: 'POST', user: 'alice', json: { title: 'buy milk' } })
    expect(created.status).toBe(201)
    expect(created.body).toMatchObject({ title: 'buy milk', done: false })
    await call(`${url}/todos`, { method: 'POST', user: 'bob', json: { title: "bob's" } })
    const alice = await call(`${url}/todos`, { user: 'alice' })
    expect(alice.body.items.map((t: { title: string }) => t.title)).toEqual(['buy milk'])
    expect((await call(`${url}/todos/${created.body.id}`, { user: 'bob' })).status).toBe(404)
    const anonymous = await call(`${url}/todos`)
    expect(anonymous).toMatchObject({ status: 401, body: { error: { code: 'NO_CONTEXT' } } })
    expect(anonymous.body.error.message).toContain('x-user')
  })

  it('updates atomically, deletes, and validates input', async () => {
    const { body } = await call(`${url}/todos`, { method: 'POST', user: 'carol', json: { title: 'a' } })
    const patched = await call(`${url}/todos/${body.id}`, { method: 'PATCH', user: 'carol', json: { done: true } })
    expect(patched).toMatchObject({ status: 200, body: { title: 'a', done: true } })
    // Concurrent renames each apply in full: update() retries on conflict.
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        call(`${url}/todos/${body.id}`, { method: 'PATCH', user: 'carol', json: { title: `t${i}` } }),
      ),
    )
    expect((await call(`${url}/todos/${body.id}`, { user: 'carol' })).body.done).toBe(true)
    expect(
      await call(`${url}/todos/${body.id}`, { method: 'PATCH', user: 'carol', json: { done: 'yes' } }),
    ).toMatchObject({ status: 400 })
    expect(await call(`${url}/todos`, { method: 'POST', user: 'carol', json: { title: '' } })).toMatchObject({
      status: 400,
    })
    expect(await call(`${url}/todos`, { method: 'POST', user: 'carol', body: '{nope' })).toMatchObject({
      status: 400,
      body: { error: { code: 'BAD_REQUEST' } },
    })
    expect((await call(`${url}/todos/${body.id}`, { method: 'DELETE', user: 'carol' })).status).toBe(204)
    expect((await call(`${url}/todos/${body.id}`, { method: 'DELETE', user: 'carol' })).status).toBe(404)
    expect((await call(`${url}/todos/missing`, { method: 'PATCH', user: 'carol', json: { done: true } })).status).toBe(
      404,
    )
  })

  it('an invalid user name is 400; a user over quota is 413 with the figures', async () => {
    expect(await call(`${url}/todos`, { user: 'x'.repeat(2000) })).toMatchObject({
      status: 400,
      body: { error: { code: 'INVALID_SCOPE' } },
    })
    const title = 'y'.repeat(400)
    let last = { status: 201, body: {} as Record<string, unknown> }
    for (let i = 0; i < 400 && last.status === 201; i++) {
      last = await call(`${url}/todos`, { method: 'POST', user: 'hoarder', json: { title } })
    }
    expect(last.status).toBe(413)
    expect(last.body).toMatchObject({ error: { code: 'QUOTA_EXCEEDED', limit: 64 * 1024, dimension: 'bytes' } })
  })

  it('creates many at once, all or nothing, and summarises with entries()', async () => {
    const bulk = await call(`${url}/todos/bulk`, { method: 'POST', user: 'erin', json: { titles: ['a', 'b', 'c'] } })
    expect(bulk.status).toBe(201)
    await call(`${url}/todos/${bulk.body.items[0].id}`, { method: 'PATCH', user: 'erin', json: { done: true } })
    expect((await call(`${url}/todos/summary`, { user: 'erin' })).body).toEqual({ total: 3, done: 1, open: 2 })
    // Over the user's 64 KiB quota as a whole: nothing of it is stored.
    const tooMuch = await call(`${url}/todos/bulk`, {
      method: 'POST',
      user: 'erin',
      json: { titles: Array.from({ length: 100 }, () => 'é'.repeat(500)) }, // ~100 KB
    })
    expect(tooMuch.status).toBe(413)
    expect((await call(`${url}/todos/summary`, { user: 'erin' })).body.total).toBe(3)
    expect((await call(`${url}/todos/bulk`, { method: 'POST', user: 'erin', json: { titles: [] } })).status).toBe(400)
  })

  it('pages with a cursor', async () => {
    for (let i = 0; i < 5; i++) await call(`${url}/todos`, { method: 'POST', user: 'dave', json: { title: `t${i}` } })
    const first = await call(`${url}/todos?limit=3`, { user: 'dave' })
    expect(first.body.items).toHaveLength(3)
    const second = await call(`${url}/todos?limit=3&cursor=${encodeURIComponent(first.body.cursor)}`, { user: 'dave' })
    expect(second.body.items.map((t: { title: string }) => t.title)).toEqual(['t3', 't4'])
    expect(second.body.cursor).toBeUndefined()
  })
})

describe('counter (shared, incr)', () => {
  it('loses no increment under concurrent requests', async () => {
    await Promise.all(Array.from({ length: 100 }, () => call(`${url}/counter/hits/incr`, { method: 'POST' })))
    expect((await call(`${url}/counter/hits`)).body).toEqual({ name: 'hits', value: 100 })
    expect((await call(`${url}/counter/hits/incr?by=-10`, { method: 'POST' })).body.value).toBe(90)
    expect((await call(`${url}/counter/hits/incr`, { method: 'POST', json: { by: 5 } })).body.value).toBe(95)
    expect((await call(`${url}/counter/hits/incr?by=1.5`, { method: 'POST' })).status).toBe(400)
    expect((await call(`${url}/counter/unknown`)).body.value).toBe(0)
  })

  it('is the same counter for every user', async () => {
    await call(`${url}/counter/shared/incr`, { method: 'POST', user: 'alice' })
    await call(`${url}/counter/shared/incr`, { method: 'POST', user: 'bob' })
    expect((await call(`${url}/counter/shared`)).body.value).toBe(2)
  })
})

describe('files (bytes)', () => {
  it('stores raw bytes and serves them back with their length and type', async () => {
    const bytes = randomBytes(300 * 1024)
    const put = await call(`${url}/files/photo%20one.png`, {
      method: 'PUT',
      user: 'alice',
      body: bytes,
      headers: { 'content-type': 'image/png' },
    })
    expect(put).toMatchObject({ status: 201, body: { name: 'photo one.png', size: bytes.length, uploadedBy: 'alice' } })
    const response = await fetch(`${url}/files/photo%20one.png`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('image/png')
    expect(response.headers.get('content-length')).toBe(String(bytes.length))
    expect(Buffer.from(await response.arrayBuffer()).equals(bytes)).toBe(true)
    const list = await call(`${url}/files`)
    expect(list.body.files).toEqual([expect.objectContaining({ name: 'photo one.png', size: bytes.length })])
    expect(list.body.usage.bytes).toBeGreaterThan(bytes.length)
    expect((await call(`${url}/files/photo%20one.png`, { method: 'DELETE' })).status).toBe(204)
    expect((await call(`${url}/files/photo%20one.png`)).status).toBe(404)
  })

  it('refuses an empty body (400) and one over the host limit (413)', async () => {
    expect((await call(`${url}/files/empty`, { method: 'PUT', body: '' })).status).toBe(400)
    const big = await call(`${url}/files/big`, { method: 'PUT', body: Buffer.alloc(2 * 1024 * 1024) })
    expect(big).toMatchObject({ status: 413, body: { error: { code: 'PAYLOAD_TOO_LARGE' } } })
  })
})

describe('cache (TTL)', () => {
  it('serves an entry until its TTL passes, then 404', async () => {
    const put = await call(`${url}/cache/oslo?ttl=5000`, { method: 'PUT', json: { temp: 21 } })
    expect(put).toMatchObject({ status: 200, body: { key: 'oslo', ttl: 5000 } })
    const hit = await call(`${url}/cache/oslo`)
    expect(hit.body).toMatchObject({ value: { temp: 21 }, expiresAt: now + 5000 })
    now += 5001
    expect((await call(`${url}/cache/oslo`)).status).toBe(404)
    expect((await call(`${url}/cache/x?ttl=abc`, { method: 'PUT', json: 1 })).status).toBe(400)
    await call(`${url}/cache/here?ttl=5000`, { method: 'PUT', json: 'v' })
    expect((await fetch(`${url}/cache/here`, { method: 'HEAD' })).status).toBe(204)
    expect((await fetch(`${url}/cache/oslo`, { method: 'HEAD' })).status).toBe(404)
  })
})

describe('feed (watch, SSE)', () => {
  it('streams posts as they are made, then ends with the client', async () => {
    const stream = await openSse(`${url}/feed/events`)
    await stream.next((e) => e.event === 'ready')
    const posted = await call(`${url}/feed`, { method: 'POST', user: 'bob', json: { text: 'hello' } })
    expect(posted.status).toBe(201)
    const event = await stream.next((e) => e.event === 'post')
    expect(event.data).toMatchObject({ id: posted.body.id, user: 'bob', text: 'hello' })
    stream.close()
    const listed = await call(`${url}/feed`)
    expect(listed.body.posts[0]).toMatchObject({ text: 'hello' })
    expect((await call(`${url}/feed`, { method: 'POST', json: { text: 5 } })).status).toBe(400)
  })
})

describe('admin (host level)', () => {
  const auth = { authorization: 'Bearer secret' }

  it('reports usage per plugin and deletes a user everywhere', async () => {
    await call(`${url}/todos`, { method: 'POST', user: 'gone', json: { title: 'x' } })
    await call(`${url}/files/keep.txt`, { method: 'PUT', user: 'gone', body: 'shared data stays' })
    const before = await call(`${url}/admin/usage`, { headers: auth })
    const todosBefore = before.body.plugins.find((p: { id: string }) => p.id === 'todos')
    expect(todosBefore.users).toBeGreaterThan(0)
    const dropped = await call(`${url}/admin/users/gone`, { method: 'DELETE', headers: auth })
    expect(dropped).toMatchObject({ status: 200, body: { user: 'gone', deletedKeys: { todos: 1, files: 0 } } })
    expect((await call(`${url}/todos`, { user: 'gone' })).body.items).toEqual([])
    expect((await call(`${url}/files/keep.txt`)).status).toBe(200)
    const after = await call(`${url}/admin/usage`, { headers: auth })
    expect(after.body.plugins.find((p: { id: string }) => p.id === 'todos').users).toBe(todosBefore.users - 1)
  })

  it('counts and deletes users only: a plugin sub-scope named like a user is neither, and stays', async () => {
    const plugin = cubby.scope('default', 'todos')
    await plugin.scope('settings').set('own', 'plugin data') // the plugin's own sub-scope, as host code could write
    await call(`${url}/todos`, { method: 'POST', user: 'settings', json: { title: 'mine' } })
    const usage = await call(`${url}/admin/usage`, { headers: auth })
    const todos = usage.body.plugins.find((p: { id: string }) => p.id === 'todos')
    expect(todos.users).toBe((await plugin.users({ limit: 1000 })).ids.length)
    expect((await plugin.users({ limit: 1000 })).ids).toContain('settings')
    const dropped = await call(`${url}/admin/users/settings`, { method: 'DELETE', headers: auth })
    expect(dropped.body).toMatchObject({ user: 'settings', deletedKeys: { todos: 1 } })
    expect(await plugin.scope('settings').get('own')).toBe('plugin data')
    expect((await plugin.users({ limit: 1000 })).ids).not.toContain('settings')
    await plugin.scope('settings').drop()
  })

  it('needs the token', async () => {
    expect((await call(`${url}/admin/usage`)).status).toBe(403)
    expect((await call(`${url}/admin/usage`, { headers: { authorization: 'Bearer nope' } })).status).toBe(403)
    const off = await startHost(cubby)
    expect((await call(`${off.url}/admin/usage`, { headers: auth })).status).toBe(404)
    await off.close()
  })
})
