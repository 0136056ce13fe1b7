import { PostgresBackend, resolveOptions } from '@cubby/backend-postgres'
import pg from 'pg'
import { afterAll, expect, it, vi } from 'vitest'
import { startPostgres } from './support/server.js'

const server = await startPostgres()
afterAll(() => server.stop())

const bytes = (text: string) => new Uint8Array(Buffer.from(text))

it('reads the gets of one tick with one statement per scope, each checked against its own clock', async () => {
  const backend = await PostgresBackend.open(resolveOptions(server.url, { schema: 'coalesce' }, 10_000), Date.now)
  const now = 1_000_000
  const a = ['w', 'p', 'a']
  const b = ['w', 'p', 'b']
  const write = (scope: string[], key: string, value: string, expiresAt?: number) =>
    backend.write({ scope, checks: [], ops: [{ type: 'set', key, value: bytes(value), expiresAt }], quotas: [], now })
  await write(a, 'k1', 'a1')
  await write(a, 'k2', 'a2', now + 100)
  await write(b, 'k1', 'b1')
  // a first lone get finds scope a's row id
  expect((await backend.get(a, ['k1'], { values: true, now }))[0]?.value).toEqual(Buffer.from('a1'))

  const query = vi.spyOn(pg.Client.prototype, 'query')
  const results = await Promise.all([
    backend.get(a, ['k1'], { values: true, now }),
    backend.get(a, ['k2'], { values: true, now }),
    backend.get(a, ['k2'], { values: true, now: now + 100 }), // expired at this call's clock
    backend.get(a, ['k1'], { values: true, now }),
    backend.get(a, ['nope'], { values: true, now }),
    backend.get(b, ['k1'], { values: true, now }),
    backend.get(b, ['k2'], { values: true, now }),
    backend.get(a, ['k2'], { values: false, now }),
  ])
  const statements = query.mock.calls.filter(([config]) => /_get/.test((config as { name?: string }).name ?? '')).length
  query.mockRestore()
  expect(results.map(([entry]) => entry?.value && Buffer.from(entry.value).toString())).toEqual([
    'a1',
    'a2',
    undefined,
    'a1',
    undefined,
    'b1',
    undefined,
    undefined,
  ])
  expect(results[1]![0]?.expiresAt).toBe(now + 100)
  expect(results[2]![0]).toBeUndefined()
  expect(results[7]![0]?.version).toBe(results[1]![0]?.version) // `has`: metadata without the value
  // the two gets of a's k1 hold buffers of their own
  expect(results[0]![0]!.value).not.toBe(results[3]![0]!.value)
  // a with values, a without, b: three statements for eight gets
  expect(statements).toBe(3)
  await backend.close()
})

it('fails every get of a tick with BACKEND when the server is gone, and reads again once it is back', async () => {
  const backend = await PostgresBackend.open(resolveOptions(server.url, { schema: 'coalescefail' }, 5_000), Date.now)
  const now = Date.now()
  await backend.write({
    scope: ['s'],
    checks: [],
    ops: [{ type: 'set', key: 'k', value: bytes('v') }],
    quotas: [],
    now,
  })
  await server.kill()
  const failed = await Promise.allSettled([
    backend.get(['s'], ['k'], { values: true, now }),
    backend.get(['s'], ['j'], { values: true, now }),
  ])
  for (const result of failed) {
    expect(result.status).toBe('rejected')
    expect((result as PromiseRejectedResult).reason).toMatchObject({ code: 'BACKEND' })
  }
  await server.start()
  // Connections the restart cut may still be handed out once; the pool then replaces them.
  let entry: unknown
  for (let attempt = 0; attempt < 50 && entry === undefined; attempt++) {
    entry = await backend.get(['s'], ['k'], { values: true, now }).then(
      ([found]) => found,
      () => new Promise((resolve) => setTimeout(() => resolve(undefined), 100)),
    )
  }
  expect((entry as { value?: Uint8Array } | undefined)?.value).toEqual(Buffer.from('v'))
  await backend.close()
})
