import type Database from 'better-sqlite3'

/**
 * The part of a better-sqlite3 statement the backend uses (its own type cannot be named in declarations). Hot
 * statements are prepared with `.raw()` (rows as arrays: no object per row) or `.pluck()` (the first column).
 */
export interface Stmt<P extends unknown[], R> {
  readonly source: string
  get(...params: P): R | undefined
  all(...params: P): R[]
  iterate(...params: P): IterableIterator<R>
  run(...params: P): { changes: number }
}

/** `length(key in UTF-8) + length(value)`: what a row counts toward usage. */
const SIZE = 'length(CAST(key AS BLOB)) + length(value)'

/**
 * `sub(id)`: the scope @id and, recursively, its descendants whose flag is set, found through the flag's partial
 * index: `holds` = the subtree physically holds rows, `ttl` = it holds rows with an expiry. Empty when @id's flag is
 * clear. The walk costs in proportion to the scopes that have the flag, however many empty ones exist.
 */
const subtree = (flag: 'holds' | 'ttl', columns = 'id') =>
  `WITH RECURSIVE sub(${columns}) AS (SELECT ${columns} FROM scopes WHERE id = @id AND ${flag} = 1 UNION ALL ` +
  `SELECT ${columns
    .split(', ')
    .map((c) => `s.${c}`)
    .join(', ')} FROM scopes s JOIN sub ON s.parent = sub.id WHERE s.${flag} = 1)`

/** Every statement the backend runs (except list pages and usage updates, built by shape), prepared once. */
export function prepare(db: Database.Database) {
  const s = <P extends unknown[] = unknown[], R = unknown>(sql: string): Stmt<P, R> =>
    db.prepare<P, R>(sql) as unknown as Stmt<P, R>
  const raw = <P extends unknown[], R>(sql: string): Stmt<P, R> => db.prepare(sql).raw(true) as unknown as Stmt<P, R>
  const pluck = <P extends unknown[], R>(sql: string): Stmt<P, R> =>
    db.prepare(sql).pluck(true) as unknown as Stmt<P, R>
  return {
    // scopes
    rootId: pluck<[], number>("SELECT id FROM scopes WHERE path = ''"),
    scopeId: pluck<[string], number>('SELECT id FROM scopes WHERE path = ?'),
    createScope: s<[string, number | null, string | null]>(
      'INSERT OR IGNORE INTO scopes (path, parent, name) VALUES (?, ?, ?)',
    ),
    parentOf: pluck<[number], number | null>('SELECT parent FROM scopes WHERE id = ?'),
    counters: s<[number], { keys: number; bytes: number; expiring: number }>(
      'SELECT keys, bytes, expiring FROM scopes WHERE id = ?',
    ),
    reserveVersions: pluck<[number, number], number>(
      'UPDATE scopes SET counter = counter + ? WHERE id = ? RETURNING counter',
    ),
    children: s<[number, string, number], { name: string; id: number; keys: number; expiring: number }>(
      'SELECT name, id, keys, expiring FROM scopes WHERE parent = ? AND holds = 1 AND name > ? ORDER BY name LIMIT ?',
    ),
    /** The first page of children: `name > ''` would miss the user level, whose name is `''`. */
    firstChildren: s<[number, number], { name: string; id: number; keys: number; expiring: number }>(
      'SELECT name, id, keys, expiring FROM scopes WHERE parent = ? AND holds = 1 ORDER BY name LIMIT ?',
    ),
    /** The scope and every descendant that physically holds rows, parents before children. */
    holdingSubtree: s<[{ id: number }], { id: number; parent: number | null }>(
      `${subtree('holds', 'id, parent')} SELECT id, parent FROM sub`,
    ),
    /** The scope and every descendant holding rows with an expiry. */
    ttlSubtree: pluck<[{ id: number }], number>(`${subtree('ttl')} SELECT id FROM sub`),
    /** Live usage of a subtree in one snapshot: its counters minus its expired rows, found through the flags. */
    liveUsage: s<[{ id: number; now: number }], { keys: number; bytes: number }>(
      `${subtree('ttl')}, gone AS (SELECT count(*) AS keys, coalesce(sum(length(CAST(e.key AS BLOB)) + length(e.value)), 0) AS bytes ` +
        'FROM sub CROSS JOIN entries e ON e.scope = sub.id AND e.expires_at <= @now) ' +
        'SELECT scopes.keys - gone.keys AS keys, scopes.bytes - gone.bytes AS bytes FROM scopes, gone WHERE scopes.id = @id',
    ),
    /** Whether a subtree whose every row has an expiry still holds a live one. */
    subtreeHasLive: pluck<[{ id: number; now: number }], number>(
      `${subtree('ttl')} SELECT 1 FROM sub CROSS JOIN entries e ON e.scope = sub.id AND e.expires_at > @now LIMIT 1`,
    ),

    // entries
    getValue: raw<[number, string, number], [Buffer, number, number | null]>(
      'SELECT value, version, expires_at FROM entries WHERE scope = ? AND key = ? AND (expires_at IS NULL OR expires_at > ?)',
    ),
    getMeta: raw<[number, string, number], [number, number | null]>(
      'SELECT version, expires_at FROM entries WHERE scope = ? AND key = ? AND (expires_at IS NULL OR expires_at > ?)',
    ),
    /** What a write needs to know of the row it replaces: [version, expires_at, size]. */
    physical: raw<[number, string], [number, number | null, number]>(
      `SELECT version, expires_at, ${SIZE} FROM entries WHERE scope = ? AND key = ?`,
    ),
    /**
     * The first look at a scope in a transaction: [holds, ttl, watched, version, expires_at, size] — the scope's flags
     * and whether it is watched (so the transaction can skip the flag update and the watcher lookup), and the row of
     * the key (NULLs when absent). Parameters: the watcher cutoff, the key, the scope id.
     */
    physicalFirst: raw<[number, string, number], [number, number, number, number | null, number | null, number | null]>(
      'SELECT s.holds, s.ttl, EXISTS (SELECT 1 FROM watchers w WHERE w.scope = s.id AND w.seen_at > ?), ' +
        `e.version, e.expires_at, length(CAST(e.key AS BLOB)) + length(e.value) FROM scopes s ` +
        'LEFT JOIN entries e ON e.scope = s.id AND e.key = ? WHERE s.id = ?',
    ),
    /** The same, plus the value (for incr). */
    physicalValue: raw<[number, string], [number, number | null, number, Buffer]>(
      `SELECT version, expires_at, ${SIZE}, value FROM entries WHERE scope = ? AND key = ?`,
    ),
    put: s<[number, string, Buffer | Uint8Array, number, number | null]>(
      'INSERT OR REPLACE INTO entries (scope, key, value, version, expires_at) VALUES (?, ?, ?, ?, ?)',
    ),
    remove: s<[number, string]>('DELETE FROM entries WHERE scope = ? AND key = ?'),
    liveKeys: pluck<[number, number], string>(
      'SELECT key FROM entries WHERE scope = ? AND (expires_at IS NULL OR expires_at > ?)',
    ),
    expiredCount: pluck<[number, number], number>('SELECT count(*) FROM entries WHERE scope = ? AND expires_at <= ?'),
    /** A scope's own rows: count, bytes and how many have an expiry. */
    ownTotals: s<[number], { keys: number; bytes: number; expiring: number }>(
      `SELECT count(*) AS keys, coalesce(sum(${SIZE}), 0) AS bytes, count(expires_at) AS expiring FROM entries WHERE scope = ?`,
    ),
    removeScope: s<[number]>('DELETE FROM entries WHERE scope = ?'),
    /** Expired rows anywhere, oldest expiry first (the background sweep). */
    due: raw<[number, number], [number, string, number]>(
      `SELECT scope, key, ${SIZE} FROM entries WHERE expires_at <= ? ORDER BY expires_at LIMIT ?`,
    ),
    /** Expired rows of one scope (a quota refusal reclaims its subtree). */
    dueIn: raw<[number, number, number], [string, number]>(
      `SELECT key, ${SIZE} FROM entries WHERE scope = ? AND expires_at <= ? LIMIT ?`,
    ),
    anyDue: pluck<[number], number>('SELECT 1 FROM entries WHERE expires_at <= ? LIMIT 1'),

    // watch
    /** Whether a live registration watches scope ?. */
    watched: pluck<[number, number], number>('SELECT 1 FROM watchers WHERE scope = ? AND seen_at > ? LIMIT 1'),
    logChange: s<[number, string, number | null, number]>(
      'INSERT INTO changes (scope, key, version, at) VALUES (?, ?, ?, ?)',
    ),
    /** The last sequence number ever handed out (it survives pruning): where a new watcher starts. */
    lastSeq: pluck<[], number>("SELECT seq FROM sqlite_sequence WHERE name = 'changes'"),
    firstSeq: pluck<[], number | null>('SELECT min(seq) FROM changes'),
    changesSince: raw<[number, number], [number, number, string, number | null]>(
      'SELECT seq, scope, key, version FROM changes WHERE seq > ? ORDER BY seq LIMIT ?',
    ),
    oldestChangeAt: pluck<[], number>('SELECT at FROM changes ORDER BY seq LIMIT 1'),
    /** Deletes up to ? of the oldest change rows, those older than ? (by seq: `at` grows with it). */
    pruneChanges: s<[number, number]>(
      'DELETE FROM changes WHERE seq IN (SELECT seq FROM changes ORDER BY seq LIMIT ?) AND at < ?',
    ),
    longestRetention: pluck<[number], number | null>('SELECT max(retention_ms) FROM watchers WHERE seen_at > ?'),
    registerWatcher: s<[string, number, number, number]>(
      'INSERT OR REPLACE INTO watchers (token, scope, seen_at, retention_ms) VALUES (?, ?, ?, ?)',
    ),
    refreshWatchers: s<[number, string]>('UPDATE watchers SET seen_at = ? WHERE token = ?'),
    unregister: s<[number, string]>('DELETE FROM watchers WHERE scope = ? AND token = ?'),
    unregisterAll: s<[string]>('DELETE FROM watchers WHERE token = ?'),
    pruneWatchers: s<[number]>('DELETE FROM watchers WHERE seen_at < ?'),
  }
}

/** The prepared statements of one connection. */
export type Statements = ReturnType<typeof prepare>
