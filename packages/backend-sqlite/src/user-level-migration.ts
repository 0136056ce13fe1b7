import type Database from 'better-sqlite3'

/** How many `/` separators a row's encoded path holds (its depth minus one; segments escape `/` as `%2F`). */
const SLASHES = "(length(path) - length(replace(path, '/', '')))"
/** 1-based position of the second `/` of a path that has one (what ends `workspace/plugin`). */
const SECOND_SLASH = "(instr(path, '/') + instr(substr(path, instr(path, '/') + 1), '/'))"

/**
 * Schema version 3: the user level (`legacyToUserLayout` from `@cubby/core/backend`). Before it, a user's scope was
 * `[workspace, plugin, user]`; now it is `[workspace, plugin, '', user]`. Every stored path of three or more
 * segments `[a, b, c, ...]` becomes `[a, b, '', c, ...]`.
 *
 * Scope rows are re-linked, not copied: each plugin row `[a, b]` with children gets one new row `[a, b, '']` (the
 * user level, name `''`) whose counters are the sums of those children's; the children move under it (their
 * `parent` changes) and every path below them gains the `''` segment. Row ids stay, so `entries` (values, versions,
 * expiries), the change log and watch registrations keep pointing at the same data and are not touched; the
 * counters of the plugin, workspace and root rows do not change, since the subtree they total is the same. The cost
 * is one pass over `scopes`, whatever the number of entries.
 *
 * A path whose third segment is already `''` is in the new layout (a file written by a development build between
 * the two layouts) and stays where it is; children moved next to such users join the existing user-level row.
 * Runs inside the migration transaction of `migrate()`, so it happens once, all or nothing.
 */
export function migrateToUserLevel(db: Database.Database): void {
  db.exec(`
  CREATE TEMP TABLE legacy_users AS
    SELECT id, parent, keys, bytes, expiring FROM scopes WHERE ${SLASHES} = 2 AND name <> '';
  INSERT OR IGNORE INTO scopes (path, parent, name)
    SELECT DISTINCT p.path || '/', p.id, '' FROM legacy_users l JOIN scopes p ON p.id = l.parent;
  UPDATE scopes AS level SET
    keys = level.keys + moved.keys, bytes = level.bytes + moved.bytes, expiring = level.expiring + moved.expiring
    FROM (SELECT parent, sum(keys) AS keys, sum(bytes) AS bytes, sum(expiring) AS expiring
          FROM legacy_users GROUP BY parent) AS moved
    WHERE level.parent = moved.parent AND level.name = '';
  UPDATE scopes SET holds = (keys > 0), ttl = (expiring > 0) WHERE name = '';
  UPDATE scopes SET parent = (
      SELECT level.id FROM scopes level WHERE level.path = (SELECT p.path FROM scopes p WHERE p.id = scopes.parent) || '/'
    ) WHERE id IN (SELECT id FROM legacy_users);
  UPDATE scopes SET path = substr(path, 1, ${SECOND_SLASH}) || '/' || substr(path, ${SECOND_SLASH} + 1)
    WHERE ${SLASHES} >= 2 AND substr(path, ${SECOND_SLASH} + 1, 1) NOT IN ('', '/');
  DROP TABLE temp.legacy_users;
  `)
}
