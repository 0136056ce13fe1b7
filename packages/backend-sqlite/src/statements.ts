import type Database from 'better-sqlite3'

/** A row of `entries` as the read statements return it. */
export interface EntryRow {
  key: string
  value?: Buffer
  version: number
  expires_at: number | null
}

/** What a write needs to know about the row it replaces: its physical size and liveness. */
export interface PhysicalRow {
  version: number
  expires_at: number | null
  size: number
}

/** The part of a better-sqlite3 statement the backend uses (its own type cannot be named in declarations). */
export interface Stmt<P extends unknown[], R> {
  get(...params: P): R | undefined
  all(...params: P): R[]
  run(...params: P): { changes: number }
}

/** Every statement the backend runs, prepared once per connection. */
export function prepare(db: Database.Database) {
  const s = <P extends unknown[] = unknown[], R = unknown>(sql: string): Stmt<P, R> =>
    db.prepare<P, R>(sql) as unknown as Stmt<P, R>
  return {
    scopeId: s<[string], { id: number }>('SELECT id FROM scopes WHERE path = ?'),
    createScope: s<[string, number | null, string | null]>(
      'INSERT OR IGNORE INTO scopes (path, parent, name) VALUES (?, ?, ?)',
    ),
    scopeUsage: s<[number], { keys: number; bytes: number }>('SELECT keys, bytes FROM scopes WHERE id = ?'),
    addUsage: s<[number, number, number]>('UPDATE scopes SET keys = keys + ?, bytes = bytes + ? WHERE id = ?'),
    children: s<[number, string, number], { name: string }>(
      'SELECT name FROM scopes WHERE parent = ? AND keys > 0 AND name > ? ORDER BY name LIMIT ?',
    ),
    descendants: s<[string, string], { id: number }>('SELECT id FROM scopes WHERE path > ? AND path < ?'),
    allBelowRoot: s<[], { id: number }>('SELECT id FROM scopes WHERE parent IS NOT NULL'),
    parentOf: s<[number], { parent: number | null }>('SELECT parent FROM scopes WHERE id = ?'),

    getValue: s<[number, string, number], { value: Buffer; version: number; expires_at: number | null }>(
      'SELECT value, version, expires_at FROM entries WHERE scope = ? AND key = ? AND (expires_at IS NULL OR expires_at > ?)',
    ),
    getMeta: s<[number, string, number], { version: number; expires_at: number | null }>(
      'SELECT version, expires_at FROM entries WHERE scope = ? AND key = ? AND (expires_at IS NULL OR expires_at > ?)',
    ),
    physical: s<[number, string], PhysicalRow>(
      'SELECT version, expires_at, length(CAST(key AS BLOB)) + length(value) AS size FROM entries WHERE scope = ? AND key = ?',
    ),
    physicalValue: s<[number, string], PhysicalRow & { value: Buffer }>(
      'SELECT value, version, expires_at, length(CAST(key AS BLOB)) + length(value) AS size FROM entries WHERE scope = ? AND key = ?',
    ),
    put: s<[number, string, Buffer | Uint8Array, number, number | null]>(
      'INSERT OR REPLACE INTO entries (scope, key, value, version, expires_at) VALUES (?, ?, ?, ?, ?)',
    ),
    remove: s<[number, string]>('DELETE FROM entries WHERE scope = ? AND key = ?'),

    liveKeys: s<[number, number], { key: string }>(
      'SELECT key FROM entries WHERE scope = ? AND (expires_at IS NULL OR expires_at > ?)',
    ),
    scopeTotals: s<[number], { keys: number; bytes: number | null }>(
      'SELECT count(*) AS keys, sum(length(CAST(key AS BLOB)) + length(value)) AS bytes FROM entries WHERE scope = ?',
    ),
    removeScope: s<[number]>('DELETE FROM entries WHERE scope = ?'),

    due: s<[number, number], { scope: number; key: string; size: number }>(
      'SELECT scope, key, length(CAST(key AS BLOB)) + length(value) AS size FROM entries WHERE expires_at <= ? LIMIT ?',
    ),
    anyDue: s<[number], { one: number }>('SELECT 1 AS one FROM entries WHERE expires_at <= ? LIMIT 1'),

    version: s<[], { id: number; counter: number }>("SELECT id, counter FROM scopes WHERE path = ''"),
    finishRoot: s<[number, number, number, number]>(
      'UPDATE scopes SET keys = keys + ?, bytes = bytes + ?, counter = ? WHERE id = ?',
    ),

    watched: s<[number, number], { one: number }>(
      'SELECT 1 AS one FROM watchers WHERE scope = ? AND seen_at > ? LIMIT 1',
    ),
    logChange: s<[number, string, number | null, number]>(
      'INSERT INTO changes (scope, key, version, at) VALUES (?, ?, ?, ?)',
    ),
    lastChange: s<[], { seq: number | null }>('SELECT max(seq) AS seq FROM changes'),
    changesSince: s<[number, number], { seq: number; scope: number; key: string; version: number | null }>(
      'SELECT seq, scope, key, version FROM changes WHERE seq > ? ORDER BY seq LIMIT ?',
    ),
    firstChange: s<[], { seq: number | null }>('SELECT min(seq) AS seq FROM changes'),
    pruneChanges: s<[number]>('DELETE FROM changes WHERE at < ?'),
    registerWatcher: s<[string, number, number]>(
      'INSERT OR REPLACE INTO watchers (token, scope, seen_at) VALUES (?, ?, ?)',
    ),
    refreshWatchers: s<[number, string]>('UPDATE watchers SET seen_at = ? WHERE token = ?'),
    unregisterAll: s<[string]>('DELETE FROM watchers WHERE token = ?'),
    pruneWatchers: s<[number]>('DELETE FROM watchers WHERE seen_at < ?'),
  }
}

/** The prepared statements of one connection. */
export type Statements = ReturnType<typeof prepare>
