import { PostgresBackend, resolveOptions } from '@cubby/backend-postgres'
import { afterAll, expect, it } from 'vitest'
import { startPostgres } from './support/server.js'

const server = await startPostgres()
afterAll(() => server.stop())

it("lists the user level '' as a child of a plugin's scope (what the CLI's migrate walks)", async () => {
  const backend = await PostgresBackend.open(resolveOptions(server.url, { schema: 'levels' }, 10_000), Date.now)
  const now = Date.now()
  const write = (scope: string[], key: string) =>
    backend.write({ scope, checks: [], ops: [{ type: 'set', key, value: new Uint8Array([1]) }], quotas: [], now })
  await write(['w', 'p', '', 'u1'], 'pref')
  await write(['w', 'p', 'sub'], 'x')
  expect(await backend.scopes(['w', 'p'], { limit: 10, now })).toEqual(['', 'sub'])
  expect(await backend.scopes(['w', 'p'], { after: '', limit: 10, now })).toEqual(['sub'])
  expect(await backend.scopes(['w', 'p', ''], { limit: 10, now })).toEqual(['u1'])
  await backend.close()
})
