import { BackendError } from '@cubby/core/backend'
import type Database from 'better-sqlite3'

/**
 * The schema, versioned with PRAGMA user_version. Each migration runs once, inside a write transaction, so two
 * processes opening a new file at the same time cannot both apply it.
 *
 * - `scopes`: one row per scope ever written (never deleted, so ids cached by other processes stay valid). `path` is
 *   the injective encodeScopePath() text, so a scope's descendants are the range (path || '/', path || '0').
 *   `keys`/`bytes` are subtree totals, updated with every write for each ancestor.
 * - `entries`: values as BLOBs, keys as TEXT compared with memcmp (= UTF-8 byte order), clustered by (scope, key).
 * - `changes`: the change log watchers read, written only while some process watches the scope (`watchers`).
 * - The root row of `scopes` (path '') also holds `counter`, the version counter, so a key never gets a version
 *   twice; every write updates the root row anyway, so the counter costs no extra page per commit.
 */
const MIGRATIONS: string[] = [
  `
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
  `,
]

/** The schema version this package writes. */
export const SCHEMA_VERSION = MIGRATIONS.length

/** Brings a database up to `SCHEMA_VERSION`; refuses one written by a newer version. */
export function migrate(db: Database.Database): void {
  const current = () => db.pragma('user_version', { simple: true }) as number
  if (current() === SCHEMA_VERSION) return
  db.transaction(() => {
    const from = current()
    if (from > SCHEMA_VERSION) {
      throw new BackendError(
        `the database has schema version ${from}, newer than this @cubby/backend-sqlite knows (${SCHEMA_VERSION}); upgrade the package`,
      )
    }
    for (let version = from; version < SCHEMA_VERSION; version++) db.exec(MIGRATIONS[version]!)
    db.pragma(`user_version = ${SCHEMA_VERSION}`)
  }).immediate()
}
