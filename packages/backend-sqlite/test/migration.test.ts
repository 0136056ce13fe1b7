import { join } from 'node:path'
import { Codec, openCubby } from '@cubby/core'
import Database from 'better-sqlite3'
import { expect, it } from 'vitest'
import { SCHEMA_VERSION } from '../src/schema.js'
import { inconsistencies, tempDir } from './support.js'

const dir = tempDir()

/** The version-1 schema exactly as @cubby/backend-sqlite 0.1.0 created it (frozen here, not imported). */
const V1 = `
  CREATE TABLE scopes (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    parent INTEGER REFERENCES scopes (id),
    name TEXT,
    keys INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0,
    counter INTEGER NOT NULL DEFAULT 0
  );
  INSERT INTO scopes (path, parent, name) VALUES ('', NULL, NULL);
  CREATE INDEX scopes_holding_data ON scopes (parent, name) WHERE keys > 0;
  CREATE TABLE entries (
    scope INTEGER NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    version INTEGER NOT NULL,
    expires_at INTEGER,
    PRIMARY KEY (scope, key)
  ) WITHOUT ROWID;
  CREATE INDEX entries_expiry ON entries (expires_at) WHERE expires_at IS NOT NULL;
  CREATE TABLE changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    scope INTEGER NOT NULL,
    key TEXT NOT NULL,
    version INTEGER,
    at INTEGER NOT NULL
  );
  CREATE INDEX changes_by_scope ON changes (scope, seq);
  CREATE TABLE watchers (
    token TEXT NOT NULL,
    scope INTEGER NOT NULL,
    seen_at INTEGER NOT NULL,
    PRIMARY KEY (scope, token)
  ) WITHOUT ROWID;
  PRAGMA user_version = 1;
`

/** Writes a version-1 database the way 0.1.0 kept it: rows, subtree counters on every ancestor, the counter. */
function writeV1(file: string, now: number): void {
  const codec = new Codec([])
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.exec(V1)
  const scope = db.prepare('INSERT INTO scopes (path, parent, name) VALUES (?, ?, ?)')
  const ids: Record<string, number> = { '': 1 }
  for (const [path, parent, name] of [
    ['ws', '', 'ws'],
    ['ws/plug', 'ws', 'plug'],
    ['ws/plug/alice', 'ws/plug', 'alice'],
    ['ws/plug/bob', 'ws/plug', 'bob'],
    ['ws/empty', 'ws', 'empty'],
  ] as const) {
    ids[path] = Number(scope.run(path, ids[parent], name).lastInsertRowid)
  }
  const put = db.prepare('INSERT INTO entries (scope, key, value, version, expires_at) VALUES (?, ?, ?, ?, ?)')
  const add = db.prepare('UPDATE scopes SET keys = keys + 1, bytes = bytes + ? WHERE path = ?')
  let version = 0
  const rows: Array<[string, string, unknown, number | null]> = [
    ['ws/plug', 'shared', { count: 3 }, null],
    ['ws/plug', 'token', 'abc', now + 3_600_000],
    ['ws/plug/alice', 'todo', ['milk', 'eggs'], null],
    ['ws/plug/bob', 'cached', 'stale', now - 1000], // expired, not yet reclaimed
  ]
  for (const [path, key, value, expiresAt] of rows) {
    const bytes = codec.encode(value)
    put.run(ids[path], key, bytes, ++version, expiresAt)
    const size = Buffer.byteLength(key) + bytes.byteLength
    for (let at = path; ; at = at.includes('/') ? at.slice(0, at.lastIndexOf('/')) : '') {
      add.run(size, at)
      if (at === '') break
    }
  }
  db.prepare("UPDATE scopes SET counter = ? WHERE path = ''").run(version)
  db.close()
}

it('migrates a version-1 file: data, counters, usage() and scopes() survive; users move to the user level', async () => {
  const now = Date.now()
  const file = join(dir, 'v1.db')
  writeV1(file, now)
  const cubby = await openCubby(`sqlite:${file}`)
  const plugin = cubby.scope('ws', 'plug')
  expect(await plugin.getMany(['shared', 'token'])).toEqual([{ count: 3 }, 'abc'])
  expect(await plugin.user('alice').get('todo')).toEqual(['milk', 'eggs'])
  expect(await plugin.user('bob').get('cached')).toBeUndefined()
  expect(await plugin.scope('alice').get('todo')).toBeUndefined()
  expect((await cubby.scope('ws').scopes()).names).toEqual(['plug'])
  expect((await plugin.users()).ids).toEqual(['alice']) // bob holds only an expired row
  expect((await plugin.scopes()).names).toEqual([])
  expect(await plugin.usage()).toMatchObject({ keys: 3 })
  expect(await cubby.scope().usage()).toEqual(await plugin.usage())

  const raw = new Database(file, { readonly: true })
  expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION)
  expect(SCHEMA_VERSION).toBe(3)
  expect(inconsistencies(raw)).toEqual([]) // counters, expiry counts and flags all agree with the rows
  const indexes = raw.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL").pluck().all()
  expect(indexes).not.toContain('scopes_holding_data')
  expect(indexes).toEqual(expect.arrayContaining(['scopes_holding', 'scopes_with_ttl', 'entries_scope_expiry']))
  raw.close()

  // New writes get versions the migrated keys never had, and keep the counters right.
  const before = (await plugin.getEntry('shared'))!.version
  const after = await plugin.set('shared', { count: 4 })
  expect(after).not.toBe(before)
  expect(['1', '2', '3', '4']).not.toContain(after)
  await plugin.user('bob').drop()
  await plugin.user('carol').set('x', 1)
  expect((await plugin.users()).ids).toEqual(['alice', 'carol'])
  await cubby.close()
  const check = new Database(file, { readonly: true })
  expect(inconsistencies(check)).toEqual([])
  check.close()
})
