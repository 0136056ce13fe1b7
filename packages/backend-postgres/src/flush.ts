import { byteaPieces, type Param, type PiecesQuery, utf8Pieces } from './gather.js'
import type { Statements } from './sql.js'
import type { Counters, Staged } from './tx.js'

/**
 * Most value bytes one statement upserts; a larger stage is split into several statements, pipelined in the same
 * transaction. `unnest` in FROM materializes its rows, and past `work_mem` (4 MB by default) they spill to a temporary
 * file; one 16 MiB statement also has to arrive whole before the server starts on it, where a pipeline of small ones
 * lets it insert the first while the next are still on the wire. Measured on 1,600 values of 10 KiB in one
 * transaction: 277 ms as one statement, 49-66 ms as statements of 50-100 values.
 */
export const UPSERT_BYTES = 512 * 1024

/** Upserts of a stage: scope ids, keys, values, versions, expiry. */
type Upserts = [number[], string[], Uint8Array[], number[], Array<number | null>]

/**
 * The statements that write a transaction's stage: data-modifying CTEs over arrays (`unnest`) — upserts, deletes,
 * counter deltas, change-log rows — and `pg_notify` when it logged. The upserts are split into statements of at most
 * UPSERT_BYTES of values; the last statement carries the rest. The parts present make a statement's shape (at most
 * 16), each prepared once per connection under its own name. Rows of one key never appear twice (the stage holds
 * each key's final state), so every part touches distinct rows, and the statements can run in any order.
 */
export function flushSql(
  sql: Statements,
  stage: Map<number, Map<string, Staged | null>>,
  deltas: Map<number, Counters>,
  log: ReadonlyArray<[number, string, number | null]>,
  now: number,
  channel: string,
): PiecesQuery[] {
  const up: Upserts = [[], [], [], [], []]
  const del: [number[], string[]] = [[], []]
  const out: PiecesQuery[] = []
  let bytes = 0
  for (const [scope, keys] of stage) {
    for (const [key, row] of keys) {
      if (!row) {
        del[0].push(scope)
        del[1].push(key)
        continue
      }
      if (bytes > 0 && bytes + row.value.byteLength > UPSERT_BYTES) {
        out.push(statement(sql, spliced(up), [[], []], [], [], now, channel)!)
        bytes = 0
      }
      up[0].push(scope)
      up[1].push(key)
      up[2].push(row.value)
      up[3].push(row.version)
      up[4].push(row.expiresAt)
      bytes += row.value.byteLength
    }
  }
  const counts: Array<[number, Counters]> = []
  for (const [id, delta] of deltas) {
    if (delta.keys !== 0 || delta.bytes !== 0 || delta.expiring !== 0) counts.push([id, delta])
  }
  const last = statement(sql, up, del, counts, log, now, channel)
  if (last) out.push(last)
  return out
}

/** The rows of `up` so far, leaving it empty. */
function spliced(up: Upserts): Upserts {
  return up.map((column) => column.splice(0)) as Upserts
}

/** One statement of the parts given (upserts, deletes, counter deltas, log), or undefined when all are empty. */
function statement(
  sql: Statements,
  up: Upserts,
  del: [number[], string[]],
  counts: ReadonlyArray<[number, Counters]>,
  log: ReadonlyArray<[number, string, number | null]>,
  now: number,
  channel: string,
): PiecesQuery | undefined {
  const s = sql.schema
  const values: Param[] = []
  const param = (value: Param, type: string) => {
    values.push(value)
    return `$${values.length}::${type}`
  }
  const parts: string[] = []
  let shape = 0
  if (up[0].length > 0) {
    shape |= 1
    parts.push(
      `up AS (INSERT INTO ${s}.entries (scope, key, value, version, expires_at) SELECT * FROM unnest(` +
        `${param(up[0], 'bigint[]')}, ${param(utf8Pieces(up[1]), 'bytea[]')}, ${param(byteaPieces(up[2]), 'bytea[]')}, ` +
        `${param(up[3], 'bigint[]')}, ${param(up[4], 'bigint[]')}) ON CONFLICT (scope, key) DO UPDATE SET ` +
        'value = excluded.value, version = excluded.version, expires_at = excluded.expires_at)',
    )
  }
  if (del[0].length > 0) {
    shape |= 2
    parts.push(
      `del AS (DELETE FROM ${s}.entries e USING unnest(${param(del[0], 'bigint[]')}, ` +
        `${param(utf8Pieces(del[1]), 'bytea[]')}) AS d (scope, key) WHERE e.scope = d.scope AND e.key = d.key)`,
    )
  }
  if (counts.length > 0) {
    shape |= 4
    parts.push(
      `cnt AS (UPDATE ${s}.scopes c SET keys = c.keys + d.k, bytes = c.bytes + d.b, expiring = c.expiring + d.e, ` +
        'holds = c.keys + d.k > 0, ttl = c.expiring + d.e > 0 FROM unnest(' +
        `${param(
          counts.map(([id]) => id),
          'bigint[]',
        )}, ${param(
          counts.map(([, d]) => d.keys),
          'bigint[]',
        )}, ${param(
          counts.map(([, d]) => d.bytes),
          'bigint[]',
        )}, ${param(
          counts.map(([, d]) => d.expiring),
          'bigint[]',
        )}) AS d (id, k, b, e) WHERE c.id = d.id)`,
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
        )}, ${param(utf8Pieces(log.map((l) => l[1])), 'bytea[]')}, ${param(
          log.map((l) => l[2]),
          'bigint[]',
        )}) WITH ORDINALITY AS l (scope, key, version, n) ORDER BY l.n)`,
    )
    tail = `SELECT pg_notify(${param(channel, 'text')}, '')`
  }
  if (parts.length === 0) return undefined
  return { name: `cubby_${sql.schema.slice(1, -1)}_flush${shape}`, text: `WITH ${parts.join(', ')} ${tail}`, values }
}
