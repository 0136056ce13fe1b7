import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SqliteBackend } from '@cubby/backend-sqlite'
import { runConformance } from '@cubby/conformance'
import { encodeScopePath } from '@cubby/core/backend'
import Database from 'better-sqlite3'
import { resolveOptions } from '../src/options.js'

const root = mkdtempSync(join(tmpdir(), 'cubby-sqlite-conformance-'))
let files = 0

await runConformance({
  name: 'sqlite (file)',
  create: async ({ clock }) => {
    const file = join(root, `db-${files++}.sqlite`)
    const open = () => new SqliteBackend(resolveOptions(file, { sweepIntervalMs: 100, watchPollMs: 20 }, 10_000), clock)
    const backend = open()
    const reader = new Database(file, { readonly: true })
    const scopeId = (scope: readonly string[]) =>
      (reader.prepare('SELECT id FROM scopes WHERE path = ?').get(encodeScopePath(scope)) as { id: number } | undefined)
        ?.id
    return {
      backend,
      peer: async () => open(),
      backdoor: {
        read: async (scope, key) => {
          const id = scopeId(scope)
          if (id === undefined) return undefined
          const row = reader
            .prepare('SELECT value, expires_at FROM entries WHERE scope = ? AND key = ?')
            .get(id, key) as { value: Buffer; expires_at: number | null } | undefined
          if (!row) return undefined
          return row.expires_at === null ? { value: row.value } : { value: row.value, expiresAt: row.expires_at }
        },
        count: async (scope) => {
          const id = scopeId(scope)
          if (id === undefined) return 0
          return (reader.prepare('SELECT count(*) AS n FROM entries WHERE scope = ?').get(id) as { n: number }).n
        },
      },
      cleanup: async () => {
        reader.close()
        rmSync(file, { force: true })
        rmSync(`${file}-wal`, { force: true })
        rmSync(`${file}-shm`, { force: true })
      },
    }
  },
})
