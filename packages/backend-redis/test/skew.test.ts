import { openCubby } from '@cubby/core'
import { afterAll, describe, expect, it } from 'vitest'
import { startRedis } from '../src/testing/index.js'
import { rawClient } from './support/wait.js'

const server = await startRedis()
const raw = await rawClient(server.port)
afterAll(async () => {
  raw.destroy()
  await server.stop()
})

const HOUR = 3_600_000
const TTL = 60_000
const GRACE = 600_000

describe('clock skew between the cubby and the server', () => {
  for (const [name, skew] of [
    ['2 h behind', -2 * HOUR],
    ['2 h ahead', 2 * HOUR],
  ] as const) {
    it(`keeps TTL'd writes until their logical expiry with the cubby's clock ${name}`, async () => {
      const prefix = `skew${skew > 0 ? 'a' : 'b'}`
      const cubby = await openCubby({
        url: server.url,
        prefix,
        expiryGraceMs: GRACE,
        clock: () => Date.now() + skew,
      })
      const store = cubby.scope('w', 'p')
      const large = 'x'.repeat(4096)
      await store.set('plain', 'v', { ttl: TTL })
      await store.set('large', large, { ttl: TTL })
      await store.set('checked', 'c', { ttl: TTL, ifVersion: null })
      await store.atomic().set('atomic-large', large, { ttl: TTL }).commit()
      await store.incr('counter', 1, { ttl: TTL })
      await store.setMany({ m1: 1, m2: 2 }, { ttl: TTL })
      const expected = { plain: 'v', large, checked: 'c', 'atomic-large': large, counter: 1, m1: 1, m2: 2 }
      for (const [key, value] of Object.entries(expected)) {
        expect(await store.get(key), key).toEqual(value)
        // The native backstop counts from the write on the server's own clock: TTL + grace, never less than TTL.
        const pttl = await raw.pTTL(`${prefix}:{/w/p}:e:/w/p:${key}`)
        expect(pttl, key).toBeGreaterThan(TTL + GRACE - 60_000)
        expect(pttl, key).toBeLessThanOrEqual(TTL + GRACE)
      }
      expect(await store.usage()).toMatchObject({ keys: 7 })
      await cubby.close()
    })
  }
})
