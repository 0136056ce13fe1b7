import Database from 'better-sqlite3'
import type { Target } from './target.js'

/** better-sqlite3 alone with the pragmas Cubby uses (WAL, synchronous=NORMAL), values as JSON text. */
export async function rawSqliteTarget(file: string): Promise<Target> {
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.pragma('busy_timeout = 5000')
  db.exec('CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID')
  const put = db.prepare('INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)')
  const read = db.prepare<[string], { value: string }>('SELECT value FROM kv WHERE key = ?')
  const page = db.prepare<[string, number], { key: string; value: string }>(
    'SELECT key, value FROM kv WHERE key > ? ORDER BY key LIMIT ?',
  )
  const putAll = db.transaction((entries: Array<[string, unknown]>) => {
    for (const [key, value] of entries) put.run(key, JSON.stringify(value))
  })
  const parse = (row: { value: string } | undefined) => row && JSON.parse(row.value)
  return {
    name: 'raw driver',
    set: async (key, value) => {
      put.run(key, JSON.stringify(value))
    },
    get: async (key) => parse(read.get(key)),
    setMany: async (entries) => putAll(entries),
    getMany: async (keys) => keys.map((key) => parse(read.get(key))),
    listAll: async (pageSize) => {
      let count = 0
      let after = ''
      for (;;) {
        const rows = page.all(after, pageSize)
        for (const row of rows) JSON.parse(row.value)
        count += rows.length
        if (rows.length < pageSize) return count
        after = rows[rows.length - 1]!.key
      }
    },
    clear: async () => {
      db.exec('DELETE FROM kv')
    },
    close: async () => {
      db.close()
    },
  }
}
