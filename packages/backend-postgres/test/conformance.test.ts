import { PostgresBackend, resolveOptions } from '@cubby/backend-postgres'
import { runConformance } from '@cubby/conformance'
import { encodeScopePath } from '@cubby/core/backend'
import pg from 'pg'
import { afterAll } from 'vitest'
import { startPostgres } from './support/server.js'

const server = await startPostgres()
const raw = new pg.Pool({ connectionString: server.url, max: 2 })
afterAll(async () => {
  await raw.end()
  await server.stop()
})
let schemas = 0

await runConformance({
  name: 'postgres',
  create: async ({ clock }) => {
    const schema = `t${schemas++}`
    const options = resolveOptions(server.url, { schema, sweepIntervalMs: 100, watchPollMs: 50, poolSize: 4 }, 10_000)
    const open = () => PostgresBackend.open(options, clock)
    const backend = await open()
    const path = (scope: readonly string[]) => Buffer.from(encodeScopePath(scope), 'utf8')
    return {
      backend,
      peer: open,
      backdoor: {
        read: async (scope, key) => {
          const { rows } = await raw.query(
            `SELECT e.value, e.expires_at FROM "${schema}".entries e JOIN "${schema}".scopes s ON s.id = e.scope WHERE s.path = $1 AND e.key = $2`,
            [path(scope), Buffer.from(key, 'utf8')],
          )
          const row = rows[0] as { value: Buffer; expires_at: string | null } | undefined
          if (!row) return undefined
          return row.expires_at === null
            ? { value: row.value }
            : { value: row.value, expiresAt: Number(row.expires_at) }
        },
        count: async (scope) => {
          const { rows } = await raw.query(
            `SELECT count(*)::int AS n FROM "${schema}".entries e JOIN "${schema}".scopes s ON s.id = e.scope WHERE s.path = $1`,
            [path(scope)],
          )
          return (rows[0] as { n: number }).n
        },
      },
      cleanup: async () => {
        await raw.query(`DROP SCHEMA "${schema}" CASCADE`)
      },
    }
  },
})
