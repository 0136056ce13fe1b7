import { type ChangeEvent, openCubby } from '@cubby/core'
import { afterAll, expect, it } from 'vitest'
import { startRedis } from '../src/testing/index.js'
import { runFixture } from './support/fixture.js'

const server = await startRedis()
afterAll(() => server.stop())

it('loses no incr or update with 4 processes x 8 concurrent workers on one Redis', async () => {
  const prefix = 'multi'
  const started = Date.now()
  await Promise.all(
    Array.from({ length: 4 }, (_, p) => runFixture('contend.mjs', [server.url, prefix, '8', '25', `p${p}`])),
  )
  const seconds = (Date.now() - started) / 1000
  const cubby = await openCubby({ url: server.url, prefix })
  const store = cubby.scope('ws', 'plugin')
  expect(await store.get('counter')).toBe(800)
  expect((await store.get<{ count: number }>('doc'))?.count).toBe(800)
  console.log(`[redis multi-process] 800 incr + 800 update from 4 processes in ${seconds.toFixed(1)} s`)
  await cubby.close()
})

it('shows a watcher in one process the writes of another, in order', async () => {
  const prefix = 'watch'
  const cubby = await openCubby({ url: server.url, prefix })
  const watch = cubby.scope('ws', 'feed').watch()
  await watch.ready
  const events: ChangeEvent[] = []
  const writer = runFixture('writer.mjs', [server.url, prefix, '50'])
  for await (const event of watch) {
    events.push(event)
    if (event.type === 'delete') break
  }
  await writer
  expect(events.map((e) => `${e.type}:${e.key}`)).toEqual([
    ...Array.from({ length: 50 }, (_, i) => `set:k${i}`),
    'delete:k0',
  ])
  await cubby.close()
})
