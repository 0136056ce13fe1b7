import { type ChangeEvent, openCubby } from '@cubby/core'
import { afterAll, expect, it } from 'vitest'
import { runTogether } from './support/process.js'
import { startPostgres } from './support/server.js'

const server = await startPostgres()
afterAll(() => server.stop())

interface Run {
  start: number
  end: number
  errors: string[]
  conflicts: number
}

it.each([1, 2, 3])(
  'loses no incr, update or compare-and-set with 4 processes x 8 workers on one key (run %i)',
  async (run) => {
    const schema = `contend${run}`
    const seed = await openCubby({ url: server.url, schema }) // the schema exists before the writers race
    await seed.close()
    const processes = 4
    const workers = 8
    const rounds = 20
    const results = await runTogether<Run>(
      Array.from({ length: processes }, (_, p) => [
        'contend.mjs',
        [server.url, schema, String(workers), String(rounds), `p${p}`],
      ]),
    )
    expect(results.flatMap((r) => r.errors)).toEqual([])
    const latestStart = Math.max(...results.map((r) => r.start))
    const earliestEnd = Math.min(...results.map((r) => r.end))
    expect(latestStart).toBeLessThan(earliestEnd) // every process ran at the same time as every other
    const cubby = await openCubby({ url: server.url, schema })
    const store = cubby.scope('ws', 'contention')
    const total = processes * workers * rounds
    expect(await store.get('counter')).toBe(total)
    expect((await store.get<{ count: number }>('doc'))?.count).toBe(total)
    expect(await store.get('cas')).toBe(total)
    const span = Math.max(...results.map((r) => r.end)) - Math.min(...results.map((r) => r.start))
    const conflicts = results.reduce((n, r) => n + r.conflicts, 0)
    console.log(
      `[postgres multi-process] ${total} incr + ${total} update + ${total} CAS (${conflicts} conflicts retried) from ${processes} processes in ${span} ms`,
    )
    await cubby.close()
  },
)

it('shows a watcher in one process each of 10,000 writes made by two other processes exactly once', async () => {
  const schema = 'watch'
  const cubby = await openCubby({ url: server.url, schema })
  const watch = cubby.scope('ws', 'feed').watch(undefined, { maxBuffered: 100_000 })
  await watch.ready
  const seen = new Map<string, number>()
  const events: ChangeEvent[] = []
  const total = 10_000
  const iterator = watch[Symbol.asyncIterator]()
  const reading = (async () => {
    while (events.length < total) {
      const { value, done } = await iterator.next()
      if (done) return
      events.push(value)
      seen.set(value.key, (seen.get(value.key) ?? 0) + 1)
    }
  })()
  await runTogether([
    ['watch-writer.mjs', [server.url, schema, String(total / 2), 'a']],
    ['watch-writer.mjs', [server.url, schema, String(total / 2), 'b']],
  ])
  const timeout = setTimeout(() => watch.close(), 60_000)
  await reading
  clearTimeout(timeout)
  expect(events.length).toBe(total)
  expect(seen.size).toBe(total)
  expect([...seen.values()].every((n) => n === 1)).toBe(true)
  // Each writer's own events arrive in its order.
  for (const tag of ['a', 'b']) {
    const order = events.filter((e) => e.key.startsWith(`${tag}-`)).map((e) => Number(e.key.slice(2)))
    expect(order).toEqual([...order].sort((x, y) => x - y))
  }
  // Nothing more arrives (no duplicates after the last one).
  await cubby.scope('ws', 'feed').set('last', 1)
  const next = await iterator.next()
  expect(next.value).toMatchObject({ type: 'set', key: 'last' })
  await cubby.close()
})
