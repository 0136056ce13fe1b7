import type pg from 'pg'
import { byteaArray, utf8Array } from './binary.js'
import type { Statements } from './sql.js'
import type { Counters, Staged } from './tx.js'

/**
 * The statement that writes a transaction's stage in one round trip, whatever its size: data-modifying CTEs over
 * arrays (`unnest`) — upserts, deletes, counter deltas, change-log rows — and `pg_notify` when it logged. The parts
 * present make its shape (at most 16), each prepared once per connection under its own name. Rows of one key never
 * appear twice (the stage holds each key's final state), so every part touches distinct rows.
 */
export function flushSql(
  sql: Statements,
  stage: Map<number, Map<string, Staged | null>>,
  deltas: Map<number, Counters>,
  log: ReadonlyArray<[number, string, number | null]>,
  now: number,
  channel: string,
): pg.QueryConfig | undefined {
  const s = sql.schema
  const values: unknown[] = []
  const param = (value: unknown, type: string) => {
    values.push(value)
    return `$${values.length}::${type}`
  }
  const parts: string[] = []
  let shape = 0
  const up: [number[], string[], Uint8Array[], number[], Array<number | null>] = [[], [], [], [], []]
  const del: [number[], string[]] = [[], []]
  for (const [scope, keys] of stage) {
    for (const [key, row] of keys) {
      if (row) {
        up[0].push(scope)
        up[1].push(key)
        up[2].push(row.value)
        up[3].push(row.version)
        up[4].push(row.expiresAt)
      } else {
        del[0].push(scope)
        del[1].push(key)
      }
    }
  }
  if (up[0].length > 0) {
    shape |= 1
    parts.push(
      `up AS (INSERT INTO ${s}.entries (scope, key, value, version, expires_at) SELECT * FROM unnest(` +
        `${param(up[0], 'bigint[]')}, ${param(utf8Array(up[1]), 'bytea[]')}, ${param(byteaArray(up[2]), 'bytea[]')}, ` +
        `${param(up[3], 'bigint[]')}, ${param(up[4], 'bigint[]')}) ON CONFLICT (scope, key) DO UPDATE SET ` +
        'value = excluded.value, version = excluded.version, expires_at = excluded.expires_at)',
    )
  }
  if (del[0].length > 0) {
    shape |= 2
    parts.push(
      `del AS (DELETE FROM ${s}.entries e USING unnest(${param(del[0], 'bigint[]')}, ${param(utf8Array(del[1]), 'bytea[]')}) ` +
        'AS d (scope, key) WHERE e.scope = d.scope AND e.key = d.key)',
    )
  }
  const counts: [number[], number[], number[], number[]] = [[], [], [], []]
  for (const [id, delta] of deltas) {
    if (delta.keys === 0 && delta.bytes === 0 && delta.expiring === 0) continue
    counts[0].push(id)
    counts[1].push(delta.keys)
    counts[2].push(delta.bytes)
    counts[3].push(delta.expiring)
  }
  if (counts[0].length > 0) {
    shape |= 4
    parts.push(
      `cnt AS (UPDATE ${s}.scopes c SET keys = c.keys + d.k, bytes = c.bytes + d.b, expiring = c.expiring + d.e, ` +
        'holds = c.keys + d.k > 0, ttl = c.expiring + d.e > 0 FROM unnest(' +
        `${param(counts[0], 'bigint[]')}, ${param(counts[1], 'bigint[]')}, ${param(counts[2], 'bigint[]')}, ` +
        `${param(counts[3], 'bigint[]')}) AS d (id, k, b, e) WHERE c.id = d.id)`,
    )
  }
  let tail = 'SELECT 1'
  if (log.length > 0) {
    shape |= 8
    parts.push(
      `log AS (INSERT INTO ${s}.changes (scope, key, version, at) SELECT l.scope, l.key, l.version, ` +
        `${param(now, 'bigint')} FROM unnest(${param(
          log.map((l) => l[0]),
          'bigint[]',
        )}, ${param(utf8Array(log.map((l) => l[1])), 'bytea[]')}, ${param(
          log.map((l) => l[2]),
          'bigint[]',
        )}) WITH ORDINALITY AS l (scope, key, version, n) ORDER BY l.n)`,
    )
    tail = `SELECT pg_notify(${param(channel, 'text')}, '')`
  }
  if (parts.length === 0) return undefined
  return { name: `cubby_${sql.schema.slice(1, -1)}_flush${shape}`, text: `WITH ${parts.join(', ')} ${tail}`, values }
}
