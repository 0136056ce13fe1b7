import { type ListQuery, prefixEnd } from '@cubby/core/backend'
import type Database from 'better-sqlite3'
import type { Stmt } from './statements.js'

/** A listed row: [key, value (null when not asked for), version, expires_at]. */
export type ListedRow = [string, Buffer | null, number, number | null]

/**
 * The bounds of a list query in statement order, each as [SQL condition, value]. Every bound becomes a range on the
 * (scope, key) primary key, so a page costs O(log n + page).
 */
function bounds(query: ListQuery): Array<[string, string]> {
  const out: Array<[string, string]> = []
  if (query.start !== undefined) out.push(['key >= ?', query.start])
  if (query.end !== undefined) out.push(['key < ?', query.end])
  if (query.prefix !== undefined) {
    out.push(['key >= ?', query.prefix])
    const end = prefixEnd(query.prefix)
    if (end !== undefined) out.push(['key < ?', end])
  }
  if (query.after !== undefined) out.push([query.reverse ? 'key < ?' : 'key > ?', query.after])
  return out
}

/** The statement text and parameters for a list query on scope row `scope`. */
export function listSql(scope: number, query: ListQuery): { sql: string; params: unknown[] } {
  const found = bounds(query)
  const where = ['scope = ?', ...found.map(([condition]) => condition), '(expires_at IS NULL OR expires_at > ?)']
  const columns = query.values ? 'key, value, version, expires_at' : 'key, NULL, version, expires_at'
  const sql = `SELECT ${columns} FROM entries WHERE ${where.join(' AND ')} ORDER BY key ${query.reverse ? 'DESC' : 'ASC'} LIMIT ?`
  return { sql, params: [scope, ...found.map(([, value]) => value), query.now, query.limit] }
}

/** Prepares each list-query shape once (its bounds, direction, values or not) and runs pages through it. */
export class ListStatements {
  /** By shape: one bit per kind of bound, direction and values. */
  private readonly cache = new Map<number, Stmt<unknown[], ListedRow>>()

  constructor(private readonly db: Database.Database) {}

  run(scope: number, query: ListQuery): ListedRow[] {
    const found = bounds(query)
    let shape = (query.reverse ? 1 : 0) | (query.values ? 2 : 0)
    for (const [condition] of found)
      shape = shape * 4 + (condition === 'key >= ?' ? 1 : condition === 'key < ?' ? 2 : 3)
    shape = shape * 8 + found.length
    let statement = this.cache.get(shape)
    if (!statement) {
      statement = this.db.prepare(listSql(scope, query).sql).raw(true) as unknown as Stmt<unknown[], ListedRow>
      this.cache.set(shape, statement)
    }
    const params: unknown[] = [scope]
    for (const [, value] of found) params.push(value)
    params.push(query.now, query.limit)
    const { maxBytes } = query
    if (maxBytes === undefined || !query.values) return statement.all(...params)
    // A byte-bounded page: stop stepping the statement once the values reach maxBytes (leaving the loop resets it).
    const rows: ListedRow[] = []
    let bytes = 0
    for (const row of statement.iterate(...params)) {
      rows.push(row)
      bytes += row[1]?.byteLength ?? 0
      if (bytes >= maxBytes) break
    }
    return rows
  }
}
