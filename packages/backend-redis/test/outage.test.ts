import { openCubby } from '@cubby/core'
import { afterAll, expect, it } from 'vitest'
import { startRedis } from '../src/testing/index.js'

const server = await startRedis()
afterAll(() => server.stop())

it('fails calls with BACKEND within the timeout while the server is down, and recovers without reopening', async () => {
  const cubby = await openCubby({ url: server.url, prefix: 'outage', timeoutMs: 2000 })
  const store = cubby.scope('ws', 'p')
  await store.set('k', 'before')
  const watch = store.watch()
  await watch.ready
  const watchEnded = (async () => {
    try {
      for await (const _ of watch) {
        // drain
      }
      return 'ended'
    } catch (error) {
      return (error as { code?: string }).code
    }
  })()

  await server.kill()
  const calls = [
    () => store.get('k'),
    () => store.set('k', 'during'),
    () => store.incr('n'),
    () => store.list(),
    () => store.usage(),
    () => store.scopes(),
  ]
  // Each settles by itself (the backend bounds every call by the timeout; the test's own timeout would catch a hang).
  for (const call of calls) {
    const error = await call().then(
      () => undefined,
      (e: { code?: string }) => e,
    )
    expect(error?.code).toBe('BACKEND')
  }
  expect(await watchEnded).toBe('BACKEND') // the subscription was lost: events may have been missed

  await server.restart()
  const deadline = Date.now() + 30_000
  for (;;) {
    const ok = await store.set('k', 'after').then(
      () => true,
      () => false,
    )
    if (ok) break
    if (Date.now() > deadline) throw new Error('the client did not reconnect within 30 s')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  expect(await store.get('k')).toBe('after') // the restarted server is empty (no persistence), then written again
  const again = store.watch()
  await again.ready
  again.close()
  await cubby.close()
})
