import { type ListQuery, prefixEnd } from '@cubby/core/backend'
import type pg from 'pg'
import type { Statements } from './sql.js'

/** A listed row. */
export interface ListedRow {
  key: Buffer
  value: Buffer | null
  version: number
  expires_at: number | null
}

/**
 * One page of a list query on the scope at `path`: every bound is a range on the (scope, key) primary key (bytea,
 * so byte order = UTF-8 order), so a page costs O(log n + page). Each shape (bounds, direction, values) is a named
 * statement, prepared once per connection. A `maxBytes` page ends after the entry that reaches it.
 */
export async function listPage(pool: pg.Pool, sql: Statements, path: Buffer, query: ListQuery): Promise<ListedRow[]> {
  const s = sql.schema
  const values: unknown[] = [path, query.now]
  const where: string[] = []
  let shape = `${query.reverse ? 'd' : 'a'}${query.values ? 'v' : 'm'}`
  const bound = (op: string, text: string, code: string) => {
    values.push(Buffer.from(text, 'utf8'))
    where.push(`e.key ${op} $${values.length}`)
    shape += code
  }
  if (query.start !== undefined) bound('>=', query.start, 's')
  if (query.end !== undefined) bound('<', query.end, 'e')
  if (query.prefix !== undefined) {
    bound('>=', query.prefix, 'p')
    const end = prefixEnd(query.prefix)
    if (end !== undefined) bound('<', end, 'q')
  }
  if (query.after !== undefined) bound(query.reverse ? '<' : '>', query.after, 'x')
  values.push(query.limit)
  const text =
    `SELECT e.key, ${query.values ? 'e.value' : 'NULL AS value'}, e.version, e.expires_at FROM ${s}.entries e ` +
    `JOIN ${s}.scopes c ON c.id = e.scope WHERE c.path = $1 AND (e.expires_at IS NULL OR e.expires_at > $2)` +
    where.map((w) => ` AND ${w}`).join('') +
    ` ORDER BY e.key ${query.reverse ? 'DESC' : 'ASC'} LIMIT $${values.length}`
  const result = await pool.query<ListedRow>({ name: `cubby_${s.slice(1, -1)}_list_${shape}`, text, values })
  const { maxBytes } = query
  if (maxBytes === undefined || !query.values) return result.rows
  const rows: ListedRow[] = []
  let bytes = 0
  for (const row of result.rows) {
    rows.push(row)
    bytes += row.value?.byteLength ?? 0
    if (bytes >= maxBytes) break
  }
  return rows
}
