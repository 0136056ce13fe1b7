import { BackendError } from '@cubby/core/backend'
import type pg from 'pg'

/** Advisory lock class of the write lock (two-key form: class, hash of the schema). 'Cuby'. */
export const WRITE_LOCK_CLASS = 0x43756279
/** Advisory lock class of migrations. 'Cubm'. */
const MIGRATE_LOCK_CLASS = 0x4375626d

/** A 32-bit signed hash of the schema name: the second key of its advisory locks. */
export function lockKey(schema: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < schema.length; i++) hash = Math.imul(hash ^ schema.charCodeAt(i), 0x01000193)
  return hash | 0
}

/** `"schema"`: the schema name quoted (validated by resolveOptions to be a plain identifier). */
export const quoted = (schema: string) => `"${schema}"`

/**
 * The migrations, in order; the version stored in `meta` says how many ran. Each runs once, in the transaction
 * that holds the migration lock, so instances opening at the same time cannot both apply it.
 *
 * - `scopes`: one row per scope ever written (never deleted, so ids cached by other processes stay valid). `path`
 *   is `encodeScopePath()` as UTF-8 bytes (bytea: keys and segments may contain NUL, which text cannot).
 *   `keys`/`bytes`/`expiring` are subtree totals of the rows physically stored (expired ones until reclaimed),
 *   updated with every write for the scope and each ancestor. `holds`/`ttl` flags (keys > 0, expiring > 0) carry the
 *   partial indexes that walk subtrees; they are rewritten with the same value by ordinary writes, which keeps those
 *   updates HOT (no index touched), and `fillfactor` leaves room on the page for them.
 * - `entries`: keys and values as bytea, so ordering is byte order (= UTF-8 order), clustered by (scope, key);
 *   values compressed with lz4 where the server has it (migration 2).
 * - `changes`: the change log watchers read, in commit order (every write holds the write lock until it commits),
 *   written only for scopes a live watcher registered in `watchers`.
 * - `versions`: the sequence versions come from, 1024 at a time (never handed out twice, even after a rollback).
 * - `meta`: the schema version, and `pruned_to`, the last change-log sequence number pruned.
 */
const MIGRATIONS: Array<(s: string) => string> = [
  (s) => `
  CREATE TABLE ${s}.scopes (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    path bytea NOT NULL UNIQUE,
    parent bigint,
    name bytea,
    keys bigint NOT NULL DEFAULT 0,
    bytes bigint NOT NULL DEFAULT 0,
    expiring bigint NOT NULL DEFAULT 0,
    holds boolean NOT NULL DEFAULT false,
    ttl boolean NOT NULL DEFAULT false
  ) WITH (fillfactor = 50);
  INSERT INTO ${s}.scopes (path, parent, name) VALUES ('\\x'::bytea, NULL, NULL);
  CREATE INDEX scopes_holding ON ${s}.scopes (parent, name) WHERE holds;
  CREATE INDEX scopes_with_ttl ON ${s}.scopes (parent) WHERE ttl;
  CREATE TABLE ${s}.entries (
    scope bigint NOT NULL,
    key bytea NOT NULL,
    value bytea NOT NULL,
    version bigint NOT NULL,
    expires_at bigint,
    PRIMARY KEY (scope, key)
  );
  CREATE INDEX entries_expiry ON ${s}.entries (expires_at) WHERE expires_at IS NOT NULL;
  CREATE INDEX entries_scope_expiry ON ${s}.entries (scope, expires_at) WHERE expires_at IS NOT NULL;
  CREATE SEQUENCE ${s}.versions INCREMENT BY 1024;
  CREATE TABLE ${s}.changes (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    scope bigint NOT NULL,
    key bytea NOT NULL,
    version bigint,
    at bigint NOT NULL
  );
  CREATE TABLE ${s}.watchers (
    token text NOT NULL,
    scope bigint NOT NULL,
    seen_at bigint NOT NULL,
    retention_ms bigint NOT NULL,
    PRIMARY KEY (scope, token)
  );
  UPDATE ${s}.meta SET pruned_to = 0;
  `,
  // 2: values are compressed with lz4 where the server has it (PostgreSQL 14+ built with lz4), instead of pglz:
  // pglz took about half of the server's time writing a compressible 10 KiB value (50 µs of a 10 KiB insert's
  // 100 µs, 20 µs with lz4) and decompresses slower. Only new values are compressed with it; rows already stored
  // stay as they are (both read alike). Elsewhere a no-op, so the schema version is the same on every server.
  (s) => `
  DO $$ BEGIN
    IF current_setting('server_version_num')::int >= 140000 AND EXISTS (SELECT 1 FROM pg_settings
        WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
      EXECUTE 'ALTER TABLE ${s}.entries ALTER COLUMN value SET COMPRESSION lz4';
    END IF;
  END $$;
  `,
]

/** The schema version this package writes. */
export const SCHEMA_VERSION = MIGRATIONS.length

/** Versions handed out per `nextval` of the versions sequence (its INCREMENT). */
export const VERSION_BLOCK = 1024

function tooNew(version: number): BackendError {
  return new BackendError(
    `the schema has version ${version}, newer than this @cubby/backend-postgres knows (${SCHEMA_VERSION}); upgrade the package`,
  )
}

/**
 * Brings the schema up to `SCHEMA_VERSION`: a quick read when it is current, otherwise the migrations in one
 * transaction under an advisory lock (waits bounded by the connection's lock_timeout). Refuses a newer schema.
 */
export async function migrate(client: pg.ClientBase, schema: string): Promise<void> {
  const s = quoted(schema)
  const current = async (): Promise<number | undefined> => {
    const exists = await client.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [`${s}.meta`])
    if (exists.rows[0]!.t === null) return undefined
    const row = await client.query<{ version: number }>(`SELECT version FROM ${s}.meta`)
    return row.rows[0]?.version ?? 0
  }
  const found = await current()
  if (found === SCHEMA_VERSION) return
  if (found !== undefined && found > SCHEMA_VERSION) throw tooNew(found)
  await client.query('BEGIN')
  try {
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', [MIGRATE_LOCK_CLASS, lockKey(schema)])
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`)
    await client.query(`CREATE TABLE IF NOT EXISTS ${s}.meta (version integer NOT NULL, pruned_to bigint NOT NULL)`)
    let version = (await current()) ?? 0
    if (version === 0) {
      await client.query(`DELETE FROM ${s}.meta`)
      await client.query(`INSERT INTO ${s}.meta (version, pruned_to) VALUES (0, 0)`)
    }
    if (version > SCHEMA_VERSION) throw tooNew(version)
    for (; version < SCHEMA_VERSION; version++) await client.query(MIGRATIONS[version]!(s))
    await client.query(`UPDATE ${s}.meta SET version = $1`, [SCHEMA_VERSION])
    await client.query('COMMIT')
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {})
    throw error
  }
}
