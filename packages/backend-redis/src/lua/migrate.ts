/**
 * Bodies of the layout-migration functions (see layout.ts): they move one scope of a plugin's group from its id in
 * the layout before the user level (`/w/p/u/…`) to its new id (`/w/p//u/…`). Both ids share the group `{/w/p}`, so
 * each call runs in one slot. Each is idempotent and decides from what is stored, not from what the caller thinks:
 * a call repeated after a crash, or made by a second migrator, moves nothing twice and loses nothing.
 *
 * move — one chunk of a scope's own entries. KEYS: G x, G xs, i:O, i:N, then per key its old and new entry key.
 * ARGV: prefix, mode, O, N, count, the keys. An entry key is RENAMEd (its value, version and native expiry stay as
 * they are, whatever its size), its TTL-index member `O:key` becomes `N:key` with the same score and size, and its
 * index member moves from i:O to i:N. A key no longer in i:O was moved already. Returns how many moved.
 */
export const MOVE = `
local X, XS, IO, IN = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local O, N, count = ARGV[3], ARGV[4], tonumber(ARGV[5])
local moved = 0
for i = 1, count do
  local key = ARGV[5 + i]
  if call('ZSCORE', IO, key) then
    local eo, en = KEYS[3 + 2 * i], KEYS[4 + 2 * i]
    if call('EXISTS', eo) == 1 then call('RENAME', eo, en) end
    local mo, mn = O .. ':' .. key, N .. ':' .. key
    local score = call('ZSCORE', X, mo)
    if score then
      call('ZADD', X, score, mn)
      call('ZREM', X, mo)
    end
    local size = call('HGET', XS, mo)
    if size then
      call('HSET', XS, mn, size)
      call('HDEL', XS, mo)
    end
    call('ZADD', IN, 0, key)
    call('ZREM', IO, key)
    moved = moved + 1
  end
end
return moved
`

/**
 * finish — a scope whose own entries and children have all moved: its usage counters, child index and watch
 * sequence move to the new id. For a user (old depth 3) also: the user's counters are added to the new user level
 * `[w, p, '']` (so its usage is the sum of its users), the user is listed there, the level is listed in the plugin's
 * child index, and the user's name leaves the plugin's child index — all in this one call, so the sum counts each
 * user exactly once. Nothing else changes: the plugin's, workspace's and root's counters already count everything.
 * KEYS: i:O, u:O, u:N, c:O, c:N, q:O, q:N, [user: the plugin's c:, the level's c:, the level's u:].
 * ARGV: prefix, mode, the user's name ('' when not a user). Returns 0 when own entries remain (call move first).
 */
export const FINISH = `
if call('EXISTS', KEYS[1]) == 1 then return 0 end
local user = ARGV[3] ~= '' and ARGV[3] or nil
if call('EXISTS', KEYS[2]) == 1 then
  if user then
    local u = call('HMGET', KEYS[2], 'k', 'b')
    call('HINCRBY', KEYS[10], 'k', tonumber(u[1] or '0'))
    call('HINCRBY', KEYS[10], 'b', tonumber(u[2] or '0'))
    call('ZADD', KEYS[9], 0, user)
    call('ZADD', KEYS[8], 0, '')
  end
  call('RENAME', KEYS[2], KEYS[3])
end
if call('EXISTS', KEYS[4]) == 1 then call('RENAME', KEYS[4], KEYS[5]) end
if call('EXISTS', KEYS[6]) == 1 then call('RENAME', KEYS[6], KEYS[7]) end
if user then call('ZREM', KEYS[8], user) end
return 1
`

/**
 * lease — renews (ARGV[4] = milliseconds) or releases (ARGV[4] = '0') the migration lock KEYS[1] if it still holds
 * this migrator's token ARGV[3]. Returns 1 if it did, 0 if the lock is someone else's or gone.
 */
export const LEASE = `
if call('GET', KEYS[1]) ~= ARGV[3] then return 0 end
if ARGV[4] == '0' then call('DEL', KEYS[1]) else call('PEXPIRE', KEYS[1], ARGV[4]) end
return 1
`
