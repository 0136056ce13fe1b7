import { copyFileSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Cubby, type KVStore, openCubby } from '@cubby/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cli } from './support/cli.js'

/**
 * v1-*.jsonl were written by the CLI of the release before the user level (da50e0f) from the SQLite fixture
 * packages/backend-sqlite/test/fixtures/legacy/legacy-v2.sqlite (made by make-legacy-store.mjs there):
 *   cubby export --url sqlite:legacy-v2.sqlite --scope beta --out v1-beta.jsonl
 *   cubby export --url sqlite:legacy-v2.sqlite --workspace acme --plugin todo --user alice --out v1-user.jsonl
 */
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url))
const LEGACY_STORE = fileURLToPath(
  new URL('../../backend-sqlite/test/fixtures/legacy/legacy-v2.sqlite', import.meta.url),
)

let dir: string
let files = 0
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cubby-cli-users-'))
})
afterAll(() => rm(dir, { recursive: true, force: true }))
const fresh = () => `sqlite:${join(dir, `s${files++}.db`)}`

/** Every live entry below `view` (users included), by storage path and key: value and expiry, not versions. */
async function contents(view: KVStore, out = new Map<string, unknown>()): Promise<Map<string, unknown>> {
  for await (const entry of view.entries()) {
    const { expiresAt } = (await view.getEntry(entry.key))!
    out.set(JSON.stringify([view.path, entry.key]), { value: entry.value, expiresAt })
  }
  for (const name of (await view.scopes({ limit: 1000 })).names) await contents(view.scope(name), out)
  if (view.path.length === 2) {
    for (const id of (await view.users({ limit: 1000 })).ids) await contents(view.user(id), out)
  }
  return out
}

async function withStore<T>(url: string, use: (cubby: Cubby) => Promise<T>): Promise<T> {
  const cubby = await openCubby(url)
  try {
    return await use(cubby)
  } finally {
    await cubby.close()
  }
}

describe('the CLI and the user level', () => {
  it("--user addresses the user's scope [w, p, '', u], never the plugin's sub-scope of that name", async () => {
    const url = fresh()
    expect((await cli(['--url', url, 'set', '--plugin', 'todo', '--user', 'settings', 'theme', '"dark"'])).code).toBe(0)
    expect((await cli(['--url', url, 'set', '--plugin', 'todo', '--scope', 'x', 'k', '1'])).code).toBe(2)
    expect((await cli(['--url', url, 'set', '-s', 'default/todo/settings', 'own', '1'])).code).toBe(0)
    await withStore(url, async (cubby) => {
      const plugin = cubby.scope('default', 'todo')
      expect(await plugin.user('settings').get('theme')).toBe('dark')
      expect(await plugin.scope('settings').get('theme')).toBeUndefined()
      expect(await plugin.scope('settings').get('own')).toBe(1)
    })
    const get = await cli(['--url', url, 'get', '--plugin', 'todo', '--user', 'settings', 'theme'])
    expect(get.stdout).toBe('"dark"\n')
    const viaScope = await cli(['--url', url, 'get', '-s', 'default/todo//settings', 'theme'])
    expect(viaScope.stdout).toBe('"dark"\n')
    expect((await cli(['--url', url, 'usage', '--plugin', 'todo', '--json'])).stdout).toMatch(/"keys":2/)
  })

  it('scopes of a plugin never lists users; users does; scopes -r shows users as W/P//U', async () => {
    const url = fresh()
    for (const args of [
      ['--plugin', 'todo', '--user', 'alice', 'k', '1'],
      ['--plugin', 'todo', '--user', 'a/b', 'k', '1'],
      ['-s', 'default/todo/cache', 'k', '1'],
      ['-s', 'default/todo//alice/drafts', 'k', '1'],
    ]) {
      expect((await cli(['--url', url, 'set', ...args])).code).toBe(0)
    }
    expect((await cli(['--url', url, 'scopes', '--plugin', 'todo'])).stdout).toBe('default/todo/cache\n')
    expect((await cli(['--url', url, 'users', '--plugin', 'todo'])).stdout).toBe('a/b\nalice\n')
    expect(JSON.parse((await cli(['--url', url, 'users', '-s', 'default/todo', '--json'])).stdout)).toEqual([
      'a/b',
      'alice',
    ])
    expect((await cli(['--url', url, 'users', '-s', 'default'])).code).toBe(2)
    expect((await cli(['--url', url, 'scopes', '-r'])).stdout).toBe(
      [
        'default',
        'default/todo',
        'default/todo/cache',
        'default/todo//a%2Fb',
        'default/todo//alice',
        'default/todo//alice/drafts',
        '',
      ].join('\n'),
    )
  })

  it('export writes version 2 with the user level in paths; import and migrate copy it exactly', async () => {
    const url = fresh()
    await withStore(url, async (cubby) => {
      const plugin = cubby.scope('acme', 'todo')
      await plugin.set('own', 1)
      await plugin.scope('alice').set('sub', 2)
      await plugin.user('alice').set('mine', 3, { ttl: 3_600_000 })
      await plugin.user('alice').scope('drafts').set('d', 4)
    })
    const out = join(dir, 'v2.jsonl')
    expect((await cli(['--url', url, 'export', '--out', out])).code).toBe(0)
    const lines = (await readFile(out, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
    expect(lines[0]).toMatchObject({ cubby: 'export', version: 2, root: [] })
    expect(lines.slice(1, -1).map((line) => [line.scope, line.key])).toEqual([
      [['acme', 'todo'], 'own'],
      [['acme', 'todo', '', 'alice'], 'mine'],
      [['acme', 'todo', '', 'alice', 'drafts'], 'd'],
      [['acme', 'todo', 'alice'], 'sub'],
    ])
    const expected = await withStore(url, (cubby) => contents(cubby.scope()))
    const imported = fresh()
    expect((await cli(['--url', imported, 'import', out])).code).toBe(0)
    expect(await withStore(imported, (cubby) => contents(cubby.scope()))).toEqual(expected)
    const migrated = fresh()
    expect((await cli(['migrate', '--from', url, '--to', migrated, '--no-progress'])).code).toBe(0)
    expect(await withStore(migrated, (cubby) => contents(cubby.scope()))).toEqual(expected)
    // One user exported alone imports into another user's scope.
    const one = join(dir, 'alice.jsonl')
    await cli(['--url', url, 'export', '-w', 'acme', '-p', 'todo', '-u', 'alice', '--out', one])
    const target = fresh()
    expect((await cli(['--url', target, 'import', one, '-p', 'todo', '-u', 'bob'])).code).toBe(0)
    await withStore(target, async (cubby) => {
      const bob = cubby.scope('default', 'todo').user('bob')
      expect(await bob.get('mine')).toBe(3)
      expect(await bob.scope('drafts').get('d')).toBe(4)
    })
  })

  it('imports a version-1 export of the old CLI into the right user scopes, as the SQLite migration places them', async () => {
    // The reference: the old store itself, migrated by the SQLite backend.
    const copy = join(dir, 'legacy.sqlite')
    copyFileSync(LEGACY_STORE, copy)
    const reference = await withStore(`sqlite:${copy}`, (cubby) => contents(cubby.scope('beta')))
    expect(reference.size).toBeGreaterThan(900)
    const url = fresh()
    const result = await cli(['--url', url, 'import', join(FIXTURES, 'v1-beta.jsonl'), '--json'])
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({ imported: reference.size, root: ['beta'] })
    const imported = await withStore(url, async (cubby) => {
      const plugin = cubby.scope('beta', 'todo')
      expect((await plugin.scopes()).names).toEqual([])
      expect((await plugin.users({ limit: 1000 })).ids).toContain('a/b%c')
      expect((await plugin.user('cache').scope('images').usage()).keys).toBeGreaterThan(0)
      return contents(cubby.scope('beta'))
    })
    expect(imported).toEqual(reference)

    // An export of one user (root [acme, todo, alice] in version 1) lands in that user's scope.
    const user = fresh()
    const one = await cli(['--url', user, 'import', join(FIXTURES, 'v1-user.jsonl'), '--json'])
    expect(JSON.parse(one.stdout)).toMatchObject({ root: ['acme', 'todo', '', 'alice'] })
    const alice = await withStore(`sqlite:${copy}`, (cubby) => contents(cubby.scope('acme', 'todo').user('alice')))
    expect(await withStore(user, (cubby) => contents(cubby.scope('acme', 'todo').user('alice')))).toEqual(alice)
  })

  it('a version-1 file with an unknown future version is refused with what to do', async () => {
    const file = join(dir, 'v9.jsonl')
    await writeFile(file, '{"cubby":"export","version":9,"root":[],"value":"base64"}\n{"cubby":"end","entries":0}\n')
    const result = await cli(['--url', fresh(), 'import', file])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/version 9.*upgrade @cubby\/cli/)
  })
})
