import { type ChangeEvent, openCubby } from '@cubby/core'
import { describe, expect, it } from 'vitest'
import { startRedis } from '../src/testing/index.js'
import { ending, outcome, rawClient, waitFor } from './support/wait.js'

describe('a stalled or dead server', () => {
  it('fails calls to a stalled server at the timeout, and close() settles while it is stalled', async () => {
    const server = await startRedis()
    try {
      const cubby = await openCubby({ url: server.url, prefix: 'stall', timeoutMs: 800 })
      const store = cubby.scope('w', 'p')
      await store.set('k', 1)
      const watch = store.watch()
      await watch.ready
      const watched = ending(watch)
      server.pause()
      expect(await outcome(store.get('k'))).toBe('BACKEND')
      expect(await outcome(store.set('k', 2))).toBe('BACKEND')
      expect(await outcome(store.usage())).toBe('BACKEND')
      const pending = store.get('k') // in flight while closing
      await cubby.close() // bounded by the timeout: no graceful close that waits for a stalled server
      expect(await outcome(pending)).toBe('BACKEND')
      expect(await watched).toBe('ended') // closed with the cubby
    } finally {
      server.resume()
      await server.stop()
    }
  })

  it('close() settles while the server is down, with a watch and a second watch starting', async () => {
    const server = await startRedis()
    try {
      const cubby = await openCubby({ url: server.url, prefix: 'down', timeoutMs: 1500 })
      const store = cubby.scope('w', 'p')
      const watch = store.watch()
      await watch.ready
      const watched = ending(watch)
      await server.kill()
      expect(await watched).toBe('BACKEND') // the subscriber connection dropped: events may be lost
      const second = store.watch()
      expect(await outcome(second.ready)).toBe('BACKEND')
      await cubby.close()
    } finally {
      await server.stop()
    }
  })

  it('after a restart that lost everything, usage, scopes and drop above the plugin still see new data', async () => {
    const server = await startRedis()
    try {
      const cubby = await openCubby({ url: server.url, prefix: 'restart', timeoutMs: 2000 })
      const plugin = cubby.scope('acme', 'todo')
      await plugin.set('a', 1)
      await server.restart() // no persistence: the server comes back empty
      await waitFor('the client to reconnect', async () => (await outcome(plugin.set('a', 2))) === 'ok')
      expect(await cubby.scope('acme').usage()).toEqual({ keys: 1, bytes: 4 })
      expect(await cubby.scope('acme').scopes()).toEqual({ names: ['todo'] })
      expect(await cubby.scope().scopes()).toEqual({ names: ['acme'] })
      await cubby.scope('acme').drop()
      expect(await plugin.get('a')).toBeUndefined()
      expect(await cubby.scope().usage()).toEqual({ keys: 0, bytes: 0 })
      await cubby.close()
    } finally {
      await server.stop()
    }
  })
})

describe('credentials and server checks', () => {
  it('fails at open with a credentials message for a wrong or a missing password, and works with the right one', async () => {
    const server = await startRedis({ password: 's3cret' })
    try {
      const wrong = await openCubby({ url: `redis://:nope@127.0.0.1:${server.port}`, connectTimeoutMs: 20_000 }).catch(
        (e: Error) => e,
      )
      expect(wrong).toMatchObject({ code: 'BACKEND', message: expect.stringMatching(/refused the credentials/) })
      expect(String((wrong as Error).message)).not.toMatch(/nope/)
      const missing = await openCubby({ url: `redis://127.0.0.1:${server.port}` }).catch((e: Error) => e)
      expect(missing).toMatchObject({ code: 'BACKEND', message: expect.stringMatching(/credentials/) })
      const cubby = await openCubby({ url: server.url, prefix: 'auth' })
      await cubby.scope('w', 'p').set('k', 1)
      expect(await cubby.scope('w', 'p').get('k')).toBe(1)
      await cubby.close()
    } finally {
      await server.stop()
    }
  })

  it('warns when the server may evict keys (maxmemory-policy other than noeviction)', async () => {
    const server = await startRedis({ args: ['--maxmemory-policy', 'allkeys-lru'] })
    const warnings: Error[] = []
    const onWarning = (warning: Error) => warnings.push(warning)
    process.on('warning', onWarning)
    try {
      const cubby = await openCubby({ url: server.url, prefix: 'evict' })
      await waitFor('the warning', () => warnings.length > 0)
      expect(warnings[0]).toMatchObject({ code: 'CUBBY_REDIS_EVICTION', message: expect.stringMatching(/noeviction/) })
      await cubby.close()
    } finally {
      process.off('warning', onWarning)
      await server.stop()
    }
  })
})

describe('watch never goes silently deaf', () => {
  it('ends a watch whose subscriber connection is killed while the server stays up; a new watch works', async () => {
    const server = await startRedis()
    const raw = await rawClient(server.port)
    try {
      const cubby = await openCubby({ url: server.url, prefix: 'subkill' })
      const store = cubby.scope('w', 'p')
      const watch = store.watch()
      await watch.ready
      const watched = ending(watch)
      await raw.sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub'])
      expect(await watched).toBe('BACKEND')
      const again = store.watch()
      await again.ready
      await store.set('k', 1)
      expect((await again[Symbol.asyncIterator]().next()).value).toMatchObject({ type: 'set', key: 'k' })
      again.close()
      await cubby.close()
    } finally {
      raw.destroy()
      await server.stop()
    }
  })

  it('ends a watch that sees a gap in its scope sequence numbers', async () => {
    const server = await startRedis()
    const raw = await rawClient(server.port)
    try {
      const cubby = await openCubby({ url: server.url, prefix: 'gap' })
      const store = cubby.scope('w', 'p')
      const watch = store.watch()
      await watch.ready
      const events: ChangeEvent[] = []
      const watched = ending(watch, events)
      await store.set('a', 1)
      await waitFor('the first event', () => events.length === 1)
      // As if a message had been lost on the way: the next one the watch sees skips a number.
      await raw.sendCommand(['SPUBLISH', 'gap:{/w/p}:w:/w/p', JSON.stringify([5, 's', 'b', '99'])])
      expect(await watched).toBe('BACKEND')
      expect(events.map((e) => e.key)).toEqual(['a'])
      await cubby.close()
    } finally {
      raw.destroy()
      await server.stop()
    }
  })

  it('ends a watch whose heartbeat does not come back in time', async () => {
    const server = await startRedis()
    const raw = await rawClient(server.port)
    try {
      const cubby = await openCubby({ url: server.url, prefix: 'beat', heartbeatMs: 100, timeoutMs: 1000 })
      const watch = cubby.scope('w', 'p').watch()
      await watch.ready
      const watched = ending(watch)
      await raw.sendCommand(['CLIENT', 'PAUSE', '3000', 'WRITE']) // the probe is a write: it waits
      expect(await watched).toBe('BACKEND')
      await cubby.close()
    } finally {
      raw.destroy()
      await server.stop()
    }
  })
})
