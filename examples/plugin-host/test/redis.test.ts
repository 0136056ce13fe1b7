import { startRedis, type TestRedis } from '@cubby/backend-redis/testing'
import { assertFreshDist } from '@cubby/conformance'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BUILT_PACKAGES, call, type HostProcess, spawnHost } from './support/host.js'
import { openSse } from './support/sse.js'

let redis: TestRedis
let a: HostProcess
let b: HostProcess

beforeAll(async () => {
  assertFreshDist(BUILT_PACKAGES)
  redis = await startRedis()
  ;[a, b] = await Promise.all([spawnHost({ CUBBY_URL: redis.url }), spawnHost({ CUBBY_URL: redis.url })])
})
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()])
  await redis?.stop()
})

describe('two host processes on one Redis', () => {
  it('share a counter without losing increments', async () => {
    expect(a.output()).toContain('storage: redis')
    const per = 150
    // Interleave requests to both hosts, many in flight at once.
    await Promise.all(
      Array.from({ length: per * 2 }, (_, i) => call(`${(i % 2 ? a : b).url}/counter/shared/incr`, { method: 'POST' })),
    )
    expect((await call(`${a.url}/counter/shared`)).body.value).toBe(per * 2)
    expect((await call(`${b.url}/counter/shared`)).body.value).toBe(per * 2)
  })

  it("one host's feed shows posts made through the other", async () => {
    const stream = await openSse(`${a.url}/feed/events`)
    try {
      await stream.next((e) => e.event === 'ready')
      const posted = await call(`${b.url}/feed`, { method: 'POST', user: 'bob', json: { text: 'from b' } })
      expect(posted.status).toBe(201)
      const event = await stream.next((e) => e.event === 'post')
      expect(event.data).toMatchObject({ id: posted.body.id, user: 'bob', text: 'from b' })
    } finally {
      stream.close()
    }
  })

  it("share users' data: a to-do made on one is on the other", async () => {
    const created = await call(`${a.url}/todos`, { method: 'POST', user: 'alice', json: { title: 'on a' } })
    const read = await call(`${b.url}/todos/${created.body.id}`, { user: 'alice' })
    expect(read).toMatchObject({ status: 200, body: { title: 'on a', done: false } })
  })
})
