import { createHash } from 'node:crypto'
import { copyFileSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Cubby, type KVStore, openCubby } from '@cubby/core'
import { decodeScopePath, encodeScopePath, legacyToUserLayout } from '@cubby/core/backend'
import { rawScopeAt } from '@cubby/core/raw'
import Database from 'better-sqlite3'
import { beforeAll, describe, expect, it } from 'vitest'
import { toVersion } from '../src/apply.js'
import { SCHEMA_VERSION } from '../src/schema.js'
import { exited, fixture, inconsistencies, tempDir } from './support.js'

/**
 * The fixture is a real file written by the release before the user level (da50e0f, schema version 2), with what
 * that code saw recorded beside it: see fixtures/legacy/make-legacy-store.mjs.
 */
const LEGACY = fileURLToPath(new URL('./fixtures/legacy/', import.meta.url))
const manifest = JSON.parse(readFileSync(join(LEGACY, 'legacy-v2.json'), 'utf8')) as {
  entries: number
  digest: string
  scopes: Array<{ path: string[]; usage: { keys: number; bytes: number }; names: string[] }>
}
const dir = tempDir()
let copies = 0

/** A fresh copy of the legacy file. */
function legacyCopy(): string {
  const file = join(dir, `legacy-${copies++}.sqlite`)
  copyFileSync(join(LEGACY, 'legacy-v2.sqlite'), file)
  return file
}

type Row = { path: string; id: number; key: string; value: Buffer; version: number; expires_at: number | null }
/** Every stored row with its scope's encoded path, straight from the file. */
function rawEntries(db: Database.Database): Row[] {
  return db
    .prepare(
      'SELECT s.path, s.id, e.key, e.value, e.version, e.expires_at FROM entries e JOIN scopes s ON s.id = e.scope ORDER BY s.id, e.key',
    )
    .all() as Row[]
}
/** The scope rows as stored: id, parent, name, path and totals. */
function rawScopes(db: Database.Database): Array<Record<string, unknown>> {
  return db.prepare('SELECT * FROM scopes ORDER BY id').all() as Array<Record<string, unknown>>
}
function withFile<T>(file: string, read: (db: Database.Database) => T): T {
  const db = new Database(file, { readonly: true })
  try {
    return read(db)
  } finally {
    db.close()
  }
}

/** The view at a storage path: a user's scope through `user()`, since no `scope()` call can name it. */
function viewAt(cubby: Cubby, path: readonly string[]): KVStore {
  if (path.length >= 4 && path[2] === '')
    return cubby
      .scope(path[0]!, path[1]!)
      .user(path[3]!)
      .scope(...path.slice(4))
  return cubby.scope(...path)
}

async function all<T>(page: (cursor?: string) => Promise<{ items: T[]; cursor?: string }>): Promise<T[]> {
  const out: T[] = []
  let cursor: string | undefined
  do {
    const next = await page(cursor)
    out.push(...next.items)
    cursor = next.cursor
  } while (cursor !== undefined)
  return out
}

/**
 * Walks the migrated store in the order the old code walked the legacy one (a plugin's users are its old child
 * scopes), hashing the same lines with the old paths: the digest must be the one the old code recorded.
 */
async function legacyDigest(cubby: Cubby): Promise<{ digest: string; entries: number }> {
  const hash = createHash('sha256')
  let entries = 0
  async function walk(view: KVStore, oldPath: string[]): Promise<void> {
    for await (const entry of view.entries()) {
      const expiresAt = (await view.getEntry(entry.key))?.expiresAt ?? null
      hash.update(`${JSON.stringify([oldPath, entry.key, entry.value, entry.version, expiresAt])}\n`)
      entries++
    }
    if (oldPath.length === 2) {
      const ids = await all((cursor) => view.users({ limit: 100, cursor }).then((p) => ({ ...p, items: p.ids })))
      for (const id of ids) await walk(view.user(id), [...oldPath, id])
    } else {
      const names = await all((cursor) => view.scopes({ limit: 100, cursor }).then((p) => ({ ...p, items: p.names })))
      for (const name of names) await walk(view.scope(name), [...oldPath, name])
    }
  }
  await walk(cubby.scope(), [])
  return { digest: hash.digest('hex'), entries }
}

describe('migrating a file written before the user level (schema 2 → 3)', () => {
  let file: string
  let before: Row[]
  let scopesBefore: Array<Record<string, unknown>>
  let cubby: Cubby

  beforeAll(async () => {
    file = legacyCopy()
    before = withFile(file, rawEntries)
    scopesBefore = withFile(file, rawScopes)
    expect(withFile(file, (db) => db.pragma('user_version', { simple: true }))).toBe(2)
    cubby = await openCubby(`sqlite:${file}`)
    return () => cubby.close()
  })

  it('keeps every stored row byte for byte: the entries table is not touched', () => {
    const after = withFile(file, rawEntries)
    expect(after.length).toBe(before.length)
    expect(after.map(({ path, ...row }) => row)).toEqual(before.map(({ path, ...row }) => row))
    // Each row's scope is now the legacyToUserLayout of its old scope.
    for (let i = 0; i < before.length; i++) {
      expect(after[i]!.path).toBe(encodeScopePath(legacyToUserLayout(decodeScopePath(before[i]!.path))))
    }
  })

  it('reads every live entry, key by key, at its new path: value bytes, version and expiry exact', async () => {
    const now = Date.now()
    const live = before.filter((row) => row.expires_at === null || row.expires_at > now)
    expect(live.length).toBe(manifest.entries)
    expect(before.length).toBeGreaterThan(live.length) // expired rows not yet reclaimed are part of the fixture
    const byPath = new Map<string, Row[]>()
    for (const row of before) byPath.set(row.path, [...(byPath.get(row.path) ?? []), row])
    for (const [path, rows] of byPath) {
      const raw = rawScopeAt(cubby, legacyToUserLayout(decodeScopePath(path)))
      const got = await raw.get(
        rows.map((row) => row.key),
        { values: true },
      )
      rows.forEach((row, i) => {
        if (row.expires_at !== null && row.expires_at <= now) {
          expect(got[i]).toBeUndefined()
          return
        }
        const entry = got[i]!
        expect(Buffer.from(entry.value!).equals(row.value)).toBe(true)
        expect(entry.version).toBe(toVersion(row.version))
        expect(entry.expiresAt).toBe(row.expires_at ?? undefined)
      })
    }
  })

  it('gives what the old code saw: the same digest of every (path, key, value, version, expiry)', async () => {
    expect(await legacyDigest(cubby)).toEqual({ digest: manifest.digest, entries: manifest.entries })
  })

  it('keeps usage() exact at every level, and lists users where old child scopes of plugins were', async () => {
    for (const { path, usage, names } of manifest.scopes) {
      const view = viewAt(cubby, legacyToUserLayout(path))
      expect({ path, usage: await view.usage() }).toEqual({ path, usage })
      if (path.length === 2) {
        // Every old child scope of a plugin is now one of its users; the plugin has no sub-scopes left.
        expect((await view.users({ limit: 1000 })).ids).toEqual(names)
        expect((await view.scopes()).names).toEqual([])
        // The backend lists the user level as the plugin's child (raw tools walk through it), then the users.
        expect(await rawScopeAt(cubby, path).scopes({ limit: 10 })).toEqual([''])
        expect(await rawScopeAt(cubby, [...path, '']).scopes({ limit: 1000 })).toEqual(names)
        // The new user level holds exactly the plugin's users' data: the plugin's usage less its own keys.
        const own = await rawScopeAt(cubby, path).list({ limit: 1000, values: true, reverse: false })
        let bytes = 0
        for (const entry of own) bytes += Buffer.byteLength(entry.key) + entry.value!.byteLength
        expect(await rawScopeAt(cubby, [...path, '']).usage()).toEqual({
          keys: usage.keys - own.length,
          bytes: usage.bytes - bytes,
        })
      } else {
        expect((await view.scopes({ limit: 1000 })).names).toEqual(names)
      }
    }
  })

  it('leaves counters, flags and the schema consistent, and new writes work', async () => {
    withFile(file, (db) => {
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION)
      expect(inconsistencies(db)).toEqual([])
      // Plugin, workspace and root totals did not change; one user-level row was added per plugin.
      const after = new Map(rawScopes(db).map((row) => [row.id, row]))
      for (const old of scopesBefore) {
        const path = decodeScopePath(old.path as string)
        if (path.length <= 2) expect(after.get(old.id)).toEqual(old)
        else expect(after.get(old.id)).toMatchObject({ keys: old.keys, bytes: old.bytes, expiring: old.expiring })
      }
      expect(after.size - scopesBefore.length).toBe(3)
    })
    const plugin = cubby.scope('acme', 'todo')
    const version = await plugin.user('alice').set('new', 1)
    expect(version).not.toBe((await plugin.user('bob').getEntry('u:000'))?.version)
    await plugin.scope('alice').set('sub', 1) // a plugin sub-scope named like a user: a different scope now
    expect(await plugin.user('alice').get('sub')).toBeUndefined()
    expect((await plugin.scopes()).names).toEqual(['alice'])
    await plugin.user('bob').drop()
    expect((await plugin.users({ limit: 1000 })).ids).not.toContain('bob')
    withFile(file, (db) => expect(inconsistencies(db)).toEqual([]))
  })
})

describe('the migration runs once', () => {
  it('opening twice migrates once: the second open changes nothing', async () => {
    const file = legacyCopy()
    const first = await openCubby(`sqlite:${file}`)
    await first.close()
    const once = withFile(file, rawScopes)
    const second = await openCubby(`sqlite:${file}`)
    await second.close()
    expect(withFile(file, rawScopes)).toEqual(once)
  })

  it('two processes opening one old file at once: one migrates, both work, nothing doubled', async () => {
    const reference = legacyCopy()
    await (await openCubby(`sqlite:${reference}`)).close()
    const migrated = withFile(reference, rawScopes)
    for (let trial = 0; trial < 2; trial++) {
      const file = legacyCopy()
      const children = ['p0', 'p1'].map((name) => fixture('open-race.mjs', [file, name]))
      await Promise.all(children.map(exited))
      withFile(file, (db) => {
        expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION)
        expect(inconsistencies(db)).toEqual([])
        // The same rows as one migration, besides what the two processes wrote: the 'race' scope and root totals.
        const comparable = (rows: Array<Record<string, unknown>>) =>
          rows
            .filter((row) => row.path !== 'race')
            .map((row) => (row.path === '' ? { id: row.id, path: row.path } : row))
        expect(comparable(rawScopes(db))).toEqual(comparable(migrated))
      })
      const cubby = await openCubby(`sqlite:${file}`)
      expect(await cubby.scope('race').getMany(['p0', 'p1'])).toEqual(['p0', 'p1'])
      expect(await cubby.scope('acme', 'todo').usage()).toEqual(
        manifest.scopes.find((s) => s.path.join('/') === 'acme/todo')!.usage,
      )
      await cubby.close()
    }
  })
})

describe('the migration and state around it', () => {
  it('leaves paths already in the new layout where they are (a file from a build between the layouts)', async () => {
    const file = legacyCopy()
    const db = new Database(file)
    const id = (path: string) => db.prepare('SELECT id FROM scopes WHERE path = ?').pluck().get(path) as number
    const add = db.prepare('INSERT INTO scopes (path, parent, name) VALUES (?, ?, ?)')
    add.run('acme/todo/', id('acme/todo'), '')
    add.run('acme/todo//dev', id('acme/todo/'), 'dev')
    const value = Buffer.from([1, 0x6a, 0x31]) // the number 1 as the codec stores it
    db.prepare('INSERT INTO entries (scope, key, value, version, expires_at) VALUES (?, ?, ?, ?, NULL)').run(
      id('acme/todo//dev'),
      'k',
      value,
      900_000,
    )
    const size = 1 + value.byteLength
    for (const path of ['acme/todo//dev', 'acme/todo/', 'acme/todo', 'acme', '']) {
      db.prepare('UPDATE scopes SET keys = keys + 1, bytes = bytes + ?, holds = 1 WHERE path = ?').run(size, path)
    }
    expect(inconsistencies(db)).toEqual([])
    db.close()
    const cubby = await openCubby(`sqlite:${file}`)
    try {
      const plugin = cubby.scope('acme', 'todo')
      expect(await plugin.user('dev').get('k')).toBe(1)
      const old = manifest.scopes.find((s) => s.path.join('/') === 'acme/todo')!
      expect((await plugin.users({ limit: 1000 })).ids).toEqual([...old.names, 'dev'].sort(compareUtf8))
      expect(await plugin.usage()).toEqual({ keys: old.usage.keys + 1, bytes: old.usage.bytes + size })
      withFile(file, (raw) => {
        expect(inconsistencies(raw)).toEqual([])
        expect(raw.prepare("SELECT count(*) FROM scopes WHERE path LIKE 'acme/todo///%'").pluck().get()).toBe(0)
      })
    } finally {
      await cubby.close()
    }
  })

  it('keeps the change log and watch registrations on the same rows, and watches work on moved users', async () => {
    const file = legacyCopy()
    const db = new Database(file)
    const alice = db.prepare("SELECT id FROM scopes WHERE path = 'acme/todo/alice'").pluck().get() as number
    db.prepare('INSERT INTO changes (scope, key, version, at) VALUES (?, ?, ?, ?)').run(alice, 'u:000', 1, Date.now())
    db.close()
    const cubby = await openCubby(`sqlite:${file}`)
    try {
      withFile(file, (raw) => {
        const logged = raw.prepare('SELECT s.path FROM changes c JOIN scopes s ON s.id = c.scope').pluck().all()
        expect(logged).toEqual(['acme/todo//alice'])
      })
      const user = cubby.scope('acme', 'todo').user('alice')
      const watch = user.watch()
      await watch.ready
      await user.set('after', 1)
      const iterator = watch[Symbol.asyncIterator]()
      expect((await iterator.next()).value).toMatchObject({ type: 'set', key: 'after' })
      watch.close()
    } finally {
      await cubby.close()
    }
  })
})

/** UTF-8 byte order, the order listings use. */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b))
}
