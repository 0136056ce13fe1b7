import { createHash } from 'node:crypto'
import { PostgresBackend, resolveOptions } from '@cubby/backend-postgres'
import { type ChangeEvent, openCubby } from '@cubby/core'
import pg from 'pg'
import { afterAll, expect, it, vi } from 'vitest'
import { byteaArray, utf8Array } from '../src/binary.js'
import { UPSERT_BYTES } from '../src/flush.js'
import { byteaPieces, submit, utf8Pieces } from '../src/gather.js'
import { SCHEMA_VERSION } from '../src/schema.js'
import { startPostgres } from './support/server.js'

const server = await startPostgres()
afterAll(() => server.stop())

const open = (schema: string) => PostgresBackend.open(resolveOptions(server.url, { schema }, 10_000), Date.now)

it('sends bytea[] parameters in binary: any bytes, empty elements, views into larger buffers, empty arrays', async () => {
  const client = new pg.Client({ connectionString: server.url })
  await client.connect()
  try {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i)
    const backing = new Uint8Array([9, 9, 1, 2, 3, 9])
    const items = [all, new Uint8Array(0), backing.subarray(2, 5), Buffer.from([0xff, 0xfe, 0x00])]
    const { rows } = await client.query<{ b: Buffer }>('SELECT b FROM unnest($1::bytea[]) WITH ORDINALITY AS u(b, n)', [
      byteaArray(items),
    ])
    expect(rows.map((row) => [...row.b])).toEqual(items.map((item) => [...item]))
    const keys = ['a', '', 'nul\u0000key', '😀 é']
    const back = await client.query<{ t: Buffer }>('SELECT t FROM unnest($1::bytea[]) t', [utf8Array(keys)])
    expect(back.rows.map((row) => row.t.toString('utf8'))).toEqual(keys)
    const empty = await client.query<{ n: number | null }>('SELECT cardinality($1::bytea[]) AS n', [byteaArray([])])
    expect(empty.rows[0]!.n).toBe(0)
  } finally {
    await client.end()
  }
})

it('sends parameters as pieces: large elements from their own buffers, small ones copied, text and null beside them', async () => {
  const client = new pg.Client({ connectionString: server.url, pipeline: true } as pg.ClientConfig)
  await client.connect()
  try {
    const large = Buffer.alloc(5000, 7)
    const backing = Buffer.alloc(3000, 1)
    backing[1000] = 0
    const items = [large, new Uint8Array(0), backing.subarray(500, 2500), Buffer.from([1, 2]), Uint8Array.from(large)]
    const keys = ['a', '', 'nul\u0000key', '😀 é']
    const query = {
      name: 'pieces_test',
      text:
        'SELECT (SELECT array_agg(md5(b) ORDER BY n) FROM unnest($1::bytea[]) WITH ORDINALITY AS u(b, n)) AS b, ' +
        '(SELECT array_agg(t ORDER BY n) FROM unnest($2::bytea[]) WITH ORDINALITY AS k(t, n)) AS k, ' +
        '$3::bigint[] AS ids, $4::text AS s, $5::bigint AS i, $6::text IS NULL AS isnull, cardinality($7::bytea[]) AS e',
      values: [byteaPieces(items), utf8Pieces(keys), [1, null, 3], 'ünï', 42, null, byteaPieces([])],
    }
    // Twice: parsed with the first, only bound with the second; and sent together, as a pipeline does.
    const [first, second] = await Promise.all([submit(client, query), submit(client, query)])
    for (const { rows } of [first, second]) {
      const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex')
      expect({ ...rows[0], k: rows[0]!.k.map((t: Buffer) => t.toString('utf8')) }).toEqual({
        b: items.map(md5),
        k: keys,
        ids: ['1', null, '3'],
        s: 'ünï',
        i: '42',
        isnull: true,
        e: 0,
      })
    }
    // A parameter it cannot send fails that query alone; the connection stays in step for the next one.
    const bad = { name: 'pieces_bad', text: 'SELECT $1::bigint[] AS a', values: [['x'] as never] }
    const [failed, after] = await Promise.allSettled([submit(client, bad), submit(client, query)])
    expect(failed.status).toBe('rejected')
    expect(after.status).toBe('fulfilled')
    expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
  } finally {
    await client.end()
  }
})

it('migrates a version 1 schema to lz4 values on open; rows stored before stay readable', async () => {
  const client = new pg.Client({ connectionString: server.url })
  await client.connect()
  const compression = async (key: string) =>
    (
      await client.query<{ c: string | null }>(
        "SELECT pg_column_compression(value) AS c FROM v1.entries WHERE key = convert_to($1, 'UTF8')",
        [key],
      )
    ).rows[0]?.c
  const value = new Uint8Array(Buffer.from('lorem ipsum dolor sit amet, '.repeat(400)))
  const write = (backend: PostgresBackend, key: string) =>
    backend.write({
      scope: ['w', 'p'],
      checks: [],
      ops: [{ type: 'set', key, value }],
      quotas: [],
      now: Date.now(),
    })
  try {
    const first = await open('v1')
    // What a version 1 schema is: pglz values (the server's default), version 1 in meta.
    await client.query('ALTER TABLE v1.entries ALTER COLUMN value SET COMPRESSION pglz')
    await client.query('UPDATE v1.meta SET version = 1')
    await write(first, 'old')
    await first.close()
    expect(await compression('old')).toBe('pglz')

    const second = await open('v1')
    const meta = await client.query<{ version: number }>('SELECT version FROM v1.meta')
    expect(meta.rows[0]!.version).toBe(SCHEMA_VERSION)
    await write(second, 'new')
    // lz4 where the server has it (PostgreSQL 14+ built with it, as Debian's are)
    const lz4 = await client.query<{ has: boolean }>(
      "SELECT 'lz4' = ANY (enumvals) AS has FROM pg_settings WHERE name = 'default_toast_compression'",
    )
    expect(await compression('new')).toBe(lz4.rows[0]?.has ? 'lz4' : 'pglz')
    expect(await compression('old')).toBe('pglz')
    const [old] = await second.get(['w', 'p'], ['old'], { values: true, now: Date.now() })
    expect(Buffer.from(old!.value!).equals(value)).toBe(true)
    await second.close()
  } finally {
    await client.end()
  }
})

it('writes a group larger than one upsert statement in one transaction: every row, exact usage, each event once', async () => {
  const cubby = await openCubby({ url: server.url, schema: 'big' })
  const store = cubby.scope('w', 'p')
  await store.set('gone', 'x')
  const watch = store.watch(undefined, { maxBuffered: 10_000 })
  await watch.ready
  const body = 'v'.repeat(10 * 1024)
  const count = Math.ceil((3 * UPSERT_BYTES) / body.length) + 7 // four statements or more
  const keys = Array.from({ length: count }, (_, i) => `k${i}`)
  const query = new Set<string>()
  const spy = vi.spyOn(pg.Client.prototype, 'query')
  const [, ...results] = await Promise.all([store.delete('gone'), ...keys.map((key, i) => store.set(key, { i, body }))])
  for (const [config] of spy.mock.calls) {
    const name = (config as { name?: string }).name
    if (name?.includes('_flush')) query.add(name)
  }
  spy.mockRestore()
  expect(results).toHaveLength(count)
  expect(query.size).toBeGreaterThan(1) // upsert-only statements and the last one with the delete and counters
  const got = await store.getMany(keys)
  expect(got.every((value, i) => (value as { i: number }).i === i)).toBe(true)
  const entries = await Promise.all(keys.map(async (key) => (await store.getEntry(key))!))
  expect(new Set(entries.map((entry) => entry.version)).size).toBe(count)
  const usage = await store.usage()
  const client = new pg.Client({ connectionString: server.url })
  await client.connect()
  const stored = await client.query<{ n: number; bytes: string }>(
    'SELECT count(*)::int AS n, sum(octet_length(key) + octet_length(value)) AS bytes FROM big.entries',
  )
  await client.end()
  expect(usage).toEqual({ keys: count, bytes: Number(stored.rows[0]!.bytes) })
  expect(stored.rows[0]!.n).toBe(count)
  const events: ChangeEvent[] = []
  for await (const event of watch) {
    events.push(event)
    if (events.length === count + 1) break
  }
  expect(events[0]).toMatchObject({ type: 'delete', key: 'gone' })
  expect(new Set(events.slice(1).map((event) => event.key)).size).toBe(count)
  await cubby.close()
}, 60_000)
