import { BackendError } from '@cubby/core/backend'
import type Database from 'better-sqlite3'
import { migrateToUserLevel } from './user-level-migration.js'

/**
 * The schema, versioned with PRAGMA user_version. Each migration runs once, inside a write transaction, so two
 * processes opening a new file at the same time cannot both apply it. A new file runs every migration in order.
 *
 * - `scopes`: one row per scope ever written (never deleted, so ids cached by other processes stay valid). `path` is
 *   the injective encodeScopePath() text. `keys`/`bytes` are subtree totals of the rows physically stored (expired
 *   ones included until reclaimed), `expiring` the subtree's count of rows with an expiry; all three are updated with
 *   every write for each ancestor. `holds` (keys > 0) and `ttl` (expiring > 0) are flags that change only when a
 *   subtree goes between empty and non-empty, so the partial indexes on them are not touched by ordinary writes.
 *   A user's scope is `[workspace, plugin, '', user]`: the `''` row under a plugin is its user level (version 3).
 * - `entries`: values as BLOBs, keys as TEXT compared with memcmp (= UTF-8 byte order), clustered by (scope, key).
 * - `changes`: the change log watchers read, written only while some process watches the scope (`watchers`).
 * - The root row of `scopes` (path '') also holds `counter`, the version counter: each connection reserves a block
 *   of versions from it, so a key never gets a version twice.
 */
const MIGRATIONS: Array<(db: Database.Database) => void> = [
  (db) =>
    db.exec(`
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
  `),
  migrateToFlags,
  migrateToUserLevel,
]

/**
 * Version 2: the `keys > 0` partial index cost a WAL frame on every write (each `keys = keys + ?` maintained it), so
 * it becomes flag columns with their own partial indexes; subtree expiry counts make exact usage() possible without
 * reclaiming; an (scope, expires_at) index finds a subtree's expired rows; watchers record their retention.
 */
function migrateToFlags(db: Database.Database): void {
  db.exec(`
  ALTER TABLE scopes ADD COLUMN expiring INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE scopes ADD COLUMN holds INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE scopes ADD COLUMN ttl INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE watchers ADD COLUMN retention_ms INTEGER NOT NULL DEFAULT 60000;
  DROP INDEX scopes_holding_data;
  CREATE INDEX entries_scope_expiry ON entries (scope, expires_at) WHERE expires_at IS NOT NULL;
  `)
  const parentOf = db.prepare('SELECT parent FROM scopes WHERE id = ?').pluck()
  const add = db.prepare('UPDATE scopes SET expiring = expiring + ? WHERE id = ?')
  const own = db
    .prepare('SELECT scope, count(*) AS n FROM entries WHERE expires_at IS NOT NULL GROUP BY scope')
    .all() as Array<{ scope: number; n: number }>
  for (const { scope, n } of own) {
    for (let at: number | null = scope; at != null; at = parentOf.get(at) as number | null) add.run(n, at)
  }
  db.exec(`
  UPDATE scopes SET holds = (keys > 0), ttl = (expiring > 0);
  CREATE INDEX scopes_holding ON scopes (parent, name) WHERE holds = 1;
  CREATE INDEX scopes_with_ttl ON scopes (parent) WHERE ttl = 1;
  `)
}

/** The schema version this package writes. */
export const SCHEMA_VERSION = MIGRATIONS.length

function tooNew(from: number): BackendError {
  return new BackendError(
    `the database has schema version ${from}, newer than this @cubby/backend-sqlite knows (${SCHEMA_VERSION}); upgrade the package`,
  )
}

/** Brings a database up to `SCHEMA_VERSION`; refuses one written by a newer version. */
export function migrate(db: Database.Database): void {
  const current = () => db.pragma('user_version', { simple: true }) as number
  if (current() === SCHEMA_VERSION) return
  db.transaction(() => {
    const from = current()
    if (from > SCHEMA_VERSION) throw tooNew(from)
    for (let version = from; version < SCHEMA_VERSION; version++) MIGRATIONS[version]!(db)
    db.pragma(`user_version = ${SCHEMA_VERSION}`)
  }).immediate()
}

/** For a read-only open, which cannot migrate: the schema must be exactly this package's. */
export function checkSchema(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number
  if (version > SCHEMA_VERSION) throw tooNew(version)
  if (version === 0) {
    throw new BackendError('the database holds no Cubby data yet; open it once without readOnly to create it')
  }
  if (version < SCHEMA_VERSION) {
    throw new BackendError(
      `the database has schema version ${version}, older than this package's (${SCHEMA_VERSION}); open it once without readOnly to migrate it`,
    )
  }
}
