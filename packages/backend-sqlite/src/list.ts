import { type ListQuery, prefixEnd } from '@cubby/core/backend'
import type Database from 'better-sqlite3'
import type { EntryRow } from './statements.js'

/**
 * Builds (and caches) the statement for a list query's shape: the bounds it has, its direction, whether it reads
 * values. Every bound becomes a range on the (scope, key) primary key, so a page costs O(log n + page).
 */
export class ListStatements {
  private readonly cache = new Map<string, Database.Statement<unknown[], EntryRow>>()

  constructor(private readonly db: Database.Database) {}

  run(scope: number, query: ListQuery): EntryRow[] {
    const where = ['scope = ?']
    const params: unknown[] = [scope]
    const bound = (sql: string, value: string) => {
      where.push(sql)
      params.push(value)
    }
    if (query.start !== undefined) bound('key >= ?', query.start)
    if (query.end !== undefined) bound('key < ?', query.end)
    if (query.prefix !== undefined) {
      bound('key >= ?', query.prefix)
      const end = prefixEnd(query.prefix)
      if (end !== undefined) bound('key < ?', end)
    }
    if (query.after !== undefined) bound(query.reverse ? 'key < ?' : 'key > ?', query.after)
    where.push('(expires_at IS NULL OR expires_at > ?)')
    params.push(query.now, query.limit)
    const columns = query.values ? 'key, value, version, expires_at' : 'key, version, expires_at'
    const sql = `SELECT ${columns} FROM entries WHERE ${where.join(' AND ')} ORDER BY key ${query.reverse ? 'DESC' : 'ASC'} LIMIT ?`
    let statement = this.cache.get(sql)
    if (!statement) {
      statement = this.db.prepare<unknown[], EntryRow>(sql)
      this.cache.set(sql, statement)
    }
    return statement.all(...params)
  }
}
