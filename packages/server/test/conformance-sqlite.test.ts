import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createBackend } from '@cubby/backend-sqlite'
import { runConformance } from '@cubby/conformance'
import { encodeScopePath } from '@cubby/core/backend'
import Database from 'better-sqlite3'
import { remoteHandle } from './conformance-support.js'

const root = mkdtempSync(join(tmpdir(), 'cubby-remote-sqlite-'))
let files = 0

await runConformance({
  name: 'remote -> sqlite',
  create: async ({ clock }) => {
    const file = join(root, `db-${files++}.sqlite`)
    const backend = await createBackend({
      url: `sqlite:${file}`,
      options: { sweepIntervalMs: 100, watchPollMs: 20 },
      clock,
      timeoutMs: 10_000,
    })
    const reader = new Database(file, { readonly: true })
    const scopeId = (scope: readonly string[]) =>
      (reader.prepare('SELECT id FROM scopes WHERE path = ?').get(encodeScopePath(scope)) as { id: number } | undefined)
        ?.id
    return remoteHandle(
      backend,
      clock,
      {
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
      async () => {
        reader.close()
        for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true })
      },
    )
  },
})
