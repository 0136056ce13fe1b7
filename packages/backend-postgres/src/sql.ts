import { quoted } from './schema.js'

/** A prepared statement: pg parses it once per connection under `name`. */
export interface Statement {
  name: string
  text: string
}

/**
 * The value as a single-key get returns it: base64 text. pg reads every result column as text (its binary mode
 * decodes each field as UTF-8, which corrupts other bytes), and bytea's text form is hex, twice the value's size;
 * base64 is 4/3 of it and cheaper for Node to decode: 20-40 µs less client CPU per sequential 10 KiB get, in four
 * interleaved runs. Only there: a function of the value in a statement that sorts (a list page) runs for every row
 * the sort reads, not only for those returned (a bytea column passes through as a TOAST pointer), and many-key reads
 * did not show a gain in the bench.
 */
const ONE_VALUE = "encode(e.value, 'base64')"

/** `octet_length(key) + octet_length(value)`: what a row counts toward usage. */
const SIZE = 'octet_length(e.key) + octet_length(e.value)'

/**
 * `sub`: the scope `$id` and, recursively, its descendants whose flag is set, found through the flag's partial index
 * (`holds`: the subtree physically holds rows; `ttl`: it holds rows with an expiry). Empty when `$id`'s flag is
 * clear, so the walk costs in proportion to the scopes that have the flag.
 */
const subtree = (s: string, flag: 'holds' | 'ttl', id: string) =>
  `WITH RECURSIVE sub (id, parent) AS (SELECT id, parent FROM ${s}.scopes WHERE id = ${id} AND ${flag} ` +
  `UNION ALL SELECT c.id, c.parent FROM ${s}.scopes c JOIN sub ON c.parent = sub.id WHERE c.${flag})`

/** Every fixed statement the backend runs, qualified with its schema and named per schema. */
export function statements(schema: string) {
  const s = quoted(schema)
  const n = (name: string, text: string): Statement => ({ name: `cubby_${schema}_${name}`, text })
  const live = '(e.expires_at IS NULL OR e.expires_at > $3)'
  return {
    schema: s,
    /**
     * The get statements: key $2 (or keys $2) of the scope at path $1 (these also return the scope's row id) or of
     * scope row $1 (its id known), live at $3, with the value when $4 (else NULL): [key, value, version, expires_at].
     * The single-key ones return the value as base64 text (ONE_VALUE), the others as bytea.
     */
    getOne: n(
      'get1',
      `SELECT CASE WHEN $4::bool THEN ${ONE_VALUE} END AS value, e.version, e.expires_at, e.scope FROM ${s}.entries e ` +
        `JOIN ${s}.scopes p ON p.id = e.scope WHERE p.path = $1 AND e.key = $2 AND ${live}`,
    ),
    getById: n(
      'get1i',
      `SELECT CASE WHEN $4::bool THEN ${ONE_VALUE} END AS value, e.version, e.expires_at FROM ${s}.entries e ` +
        `WHERE e.scope = $1 AND e.key = $2 AND ${live}`,
    ),
    getMany: n(
      'getn',
      `SELECT e.key, CASE WHEN $4::bool THEN e.value END AS value, e.version, e.expires_at, e.scope ` +
        `FROM ${s}.entries e JOIN ${s}.scopes p ON p.id = e.scope ` +
        `WHERE p.path = $1 AND e.key = ANY ($2::bytea[]) AND ${live}`,
    ),
    getManyById: n(
      'getni',
      `SELECT e.key, CASE WHEN $4::bool THEN e.value END AS value, e.version, e.expires_at FROM ${s}.entries e ` +
        `WHERE e.scope = $1 AND e.key = ANY ($2::bytea[]) AND ${live}`,
    ),
    /** Scope rows by path: [id, path]. */
    scopeIds: n('scopeids', `SELECT id, path FROM ${s}.scopes WHERE path = ANY ($1::bytea[])`),
    createScope: n('mkscope', `INSERT INTO ${s}.scopes (path, parent, name) VALUES ($1, $2, $3) RETURNING id`),
    parentOf: n('parent', `SELECT parent FROM ${s}.scopes WHERE id = $1`),
    /**
     * What a write group needs before it runs, in one round trip: the rows of the keys it touches ($1 scope ids, $2
     * keys, $3 whether the value is wanted) as kind 0, and the counters of scopes ($4) with whether a live watcher
     * (seen after $5) watches them as kind 1.
     */
    prefetch: n(
      'prefetch',
      `SELECT 0 AS kind, e.scope AS id, e.key, CASE WHEN q.v THEN e.value END AS value, e.version AS a, ` +
        `e.expires_at AS b, ${SIZE} AS c, false AS w ` +
        `FROM unnest($1::bigint[], $2::bytea[], $3::bool[]) AS q (scope, key, v) ` +
        `JOIN ${s}.entries e ON e.scope = q.scope AND e.key = q.key ` +
        `UNION ALL SELECT 1, c.id, NULL, NULL, c.keys, c.bytes, c.expiring, ` +
        `EXISTS (SELECT 1 FROM ${s}.watchers w WHERE w.scope = c.id AND w.seen_at > $5) ` +
        `FROM ${s}.scopes c WHERE c.id = ANY ($4::bigint[])`,
    ),
    /** The subtree of $1 holding rows, parents before children: [id, parent]. */
    holdingSubtree: n('holdsub', `${subtree(s, 'holds', '$1')} SELECT id, parent FROM sub`),
    /** Live usage of the subtree of $1 at time $2: its counters minus its expired rows. */
    liveUsage: n(
      'liveusage',
      `${subtree(s, 'ttl', '$1')}, gone AS (SELECT count(*) AS keys, coalesce(sum(${SIZE}), 0) AS bytes ` +
        `FROM sub JOIN ${s}.entries e ON e.scope = sub.id AND e.expires_at IS NOT NULL AND e.expires_at <= $2) ` +
        `SELECT c.keys - gone.keys AS keys, c.bytes - gone.bytes AS bytes FROM ${s}.scopes c, gone WHERE c.id = $1`,
    ),
    /** Live usage of the scope at path $1 (0 rows when it does not exist). */
    liveUsageByPath: n(
      'liveusagep',
      `${subtree(s, 'ttl', `(SELECT id FROM ${s}.scopes WHERE path = $1)`)}, ` +
        `gone AS (SELECT count(*) AS keys, coalesce(sum(${SIZE}), 0) AS bytes ` +
        `FROM sub JOIN ${s}.entries e ON e.scope = sub.id AND e.expires_at IS NOT NULL AND e.expires_at <= $2) ` +
        `SELECT c.keys - gone.keys AS keys, c.bytes - gone.bytes AS bytes FROM ${s}.scopes c, gone WHERE c.path = $1`,
    ),
    /** Children of the scope at path $1 holding rows, named after $2, at most $3: [name, id, keys, expiring]. */
    children: n(
      'children',
      `SELECT c.name, c.id, c.keys, c.expiring FROM ${s}.scopes c JOIN ${s}.scopes p ON c.parent = p.id ` +
        `WHERE p.path = $1 AND c.holds AND c.name > $2 ORDER BY c.name LIMIT $3`,
    ),
    /** The first page of `children` ($2 unused): the user level's name is '', which no `after` can precede. */
    childrenFirst: n(
      'children0',
      `SELECT c.name, c.id, c.keys, c.expiring FROM ${s}.scopes c JOIN ${s}.scopes p ON c.parent = p.id ` +
        `WHERE p.path = $1 AND c.holds AND $2::bytea IS NULL ORDER BY c.name LIMIT $3`,
    ),
    /** Whether the subtree of $1 holds a row live at $2 (through the ttl flags: called when every row expires). */
    subtreeHasLive: n(
      'haslive',
      `${subtree(s, 'ttl', '$1')} SELECT 1 FROM sub JOIN ${s}.entries e ON e.scope = sub.id ` +
        'AND e.expires_at > $2 LIMIT 1',
    ),
    /** Deletes the rows of scope $1: [key, expires_at, size]. */
    removeScope: n(
      'rmscope',
      `DELETE FROM ${s}.entries e WHERE e.scope = $1 RETURNING e.key, e.expires_at, ${SIZE} AS size`,
    ),
    /** Reclaims up to $2 rows expired by $1, anywhere: [scope, size]. */
    reclaim: n(
      'reclaim',
      `DELETE FROM ${s}.entries e WHERE (e.scope, e.key) IN (SELECT scope, key FROM ${s}.entries ` +
        `WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2) RETURNING e.scope, ${SIZE} AS size`,
    ),
    /** Reclaims up to $3 rows of scope $1 expired by $2: [size]. */
    reclaimIn: n(
      'reclaimin',
      `DELETE FROM ${s}.entries e WHERE (e.scope, e.key) IN (SELECT scope, key FROM ${s}.entries ` +
        `WHERE scope = $1 AND expires_at <= $2 LIMIT $3) RETURNING ${SIZE} AS size`,
    ),
    ttlSubtree: n('ttlsub', `${subtree(s, 'ttl', '$1')} SELECT id FROM sub`),
    anyDue: n('anydue', `SELECT 1 FROM ${s}.entries WHERE expires_at <= $1 LIMIT 1`),
    /** Adds deltas to scope rows: $1 ids, $2 keys, $3 bytes, $4 expiring. */
    addUsage: n(
      'addusage',
      `UPDATE ${s}.scopes c SET keys = c.keys + d.k, bytes = c.bytes + d.b, expiring = c.expiring + d.e, ` +
        'holds = c.keys + d.k > 0, ttl = c.expiring + d.e > 0 ' +
        'FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[]) AS d (id, k, b, e) WHERE c.id = d.id',
    ),

    // watch
    /** The newest change-log sequence number, and the last one pruned. */
    feedHead: n('feedhead', `SELECT coalesce((SELECT max(seq) FROM ${s}.changes), 0) AS seq, pruned_to FROM ${s}.meta`),
    /** Changes after $1 in scopes $2, at most $3, with the last pruned sequence number in every row. */
    changesSince: n(
      'changes',
      `SELECT c.seq, c.scope, c.key, c.version, m.pruned_to FROM ${s}.meta m LEFT JOIN LATERAL ` +
        `(SELECT seq, scope, key, version FROM ${s}.changes WHERE seq > $1 AND scope = ANY ($2::bigint[]) ` +
        'ORDER BY seq LIMIT $3) c ON true',
    ),
    registerWatcher: n(
      'watchreg',
      `INSERT INTO ${s}.watchers (token, scope, seen_at, retention_ms) VALUES ($1, $2, $3, $4) ` +
        'ON CONFLICT (scope, token) DO UPDATE SET seen_at = excluded.seen_at, retention_ms = excluded.retention_ms',
    ),
    refreshWatchers: n('watchbeat', `UPDATE ${s}.watchers SET seen_at = $1 WHERE token = $2`),
    unregister: n('watchunreg', `DELETE FROM ${s}.watchers WHERE scope = $1 AND token = $2`),
    unregisterAll: n('watchunregall', `DELETE FROM ${s}.watchers WHERE token = $1`),
    pruneWatchers: n('watchprune', `DELETE FROM ${s}.watchers WHERE seen_at < $1`),
    longestRetention: n('retention', `SELECT max(retention_ms) AS ms FROM ${s}.watchers WHERE seen_at > $1`),
    /** Prunes up to $1 of the oldest change rows older than $2, and records the last pruned sequence number. */
    pruneChanges: n(
      'prune',
      `WITH gone AS (DELETE FROM ${s}.changes WHERE seq IN (SELECT seq FROM ${s}.changes ORDER BY seq LIMIT $1) ` +
        `AND at < $2 RETURNING seq) UPDATE ${s}.meta SET pruned_to = greatest(pruned_to, ` +
        '(SELECT coalesce(max(seq), 0) FROM gone)) RETURNING (SELECT count(*) FROM gone) AS n',
    ),
    oldestChangeAt: n('oldest', `SELECT at FROM ${s}.changes ORDER BY seq LIMIT 1`),
  }
}

/** The statements of one schema. */
export type Statements = ReturnType<typeof statements>
