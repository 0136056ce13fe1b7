import pg from 'pg'
import type { Target } from './target.js'

let tables = 0

/**
 * node-postgres (`pg`) alone, values as JSON text, in a table of its own: each set an auto-commit upsert, each get
 * one indexed SELECT (both prepared), many-key work as one statement over arrays, listing by key (keyset paging).
 * The same pool size as Cubby's default (10), so Promise.all spreads over connections the same way.
 */
export async function rawPostgresTarget(url: string): Promise<Target> {
  const pool = new pg.Pool({ connectionString: url, max: 10 })
  const table = `bench_raw_${process.pid}_${tables++}`
  await pool.query(`CREATE TABLE ${table} (key text COLLATE "C" PRIMARY KEY, value text NOT NULL)`)
  const upsert = {
    name: `${table}_set`,
    text: `INSERT INTO ${table} (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
  }
  const select = { name: `${table}_get`, text: `SELECT value FROM ${table} WHERE key = $1` }
  const parse = (text: string | undefined) => (text === undefined ? undefined : JSON.parse(text))
  return {
    name: 'raw driver',
    set: async (key, value) => {
      await pool.query({ ...upsert, values: [key, JSON.stringify(value)] })
    },
    get: async (key) => parse((await pool.query<{ value: string }>({ ...select, values: [key] })).rows[0]?.value),
    setMany: async (entries) => {
      await pool.query(
        `INSERT INTO ${table} (key, value) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
        [entries.map(([key]) => key), entries.map(([, value]) => JSON.stringify(value))],
      )
    },
    getMany: async (keys) => {
      const { rows } = await pool.query<{ key: string; value: string }>(
        `SELECT key, value FROM ${table} WHERE key = ANY ($1::text[])`,
        [keys],
      )
      const found = new Map(rows.map((row) => [row.key, row.value]))
      return keys.map((key) => parse(found.get(key)))
    },
    listAll: async (pageSize) => {
      let count = 0
      let after = ''
      for (;;) {
        const { rows } = await pool.query<{ key: string; value: string }>(
          `SELECT key, value FROM ${table} WHERE key > $1 ORDER BY key LIMIT $2`,
          [after, pageSize],
        )
        for (const row of rows) parse(row.value)
        count += rows.length
        if (rows.length < pageSize) return count
        after = rows[rows.length - 1]!.key
      }
    },
    clear: async () => {
      await pool.query(`TRUNCATE ${table}`)
    },
    close: async () => {
      await pool.query(`DROP TABLE ${table}`)
      await pool.end()
    },
  }
}
