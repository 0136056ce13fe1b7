/**
 * Bodies of the maintenance functions of the library (library.ts), which run with its helpers (readHead reads an
 * entry's header without copying a large value).
 *
 * The sweep function: reclaims due TTL entries of one group, given the members JavaScript read from `G x` (so every
 * key is declared); each is re-checked here, since a write may have renewed it meanwhile.
 * KEYS: G x, G xs, [P:xg on one server], each scope's i: and level keys, then from ARGV[5] the entry key of each
 * member. ARGV: prefix, mode, G, now, index of the first entry key, count, members (E:key).
 * Returns { reclaimed, earliest remaining expiry or '' }; on one server it also reschedules the group in P:xg.
 */
export const SWEEP = `
local G, now = ARGV[3], tonumber(ARGV[4])
local X, XS = KEYS[1], KEYS[2]
local ekAt, count = tonumber(ARGV[5]), tonumber(ARGV[6])
local deltas, order, reclaimed = {}, {}, 0
for i = 1, count do
  local m = ARGV[6 + i]
  local ek = KEYS[ekAt + i - 1]
  local score = call('ZSCORE', X, m)
  if score and tonumber(score) <= now then
    local c = find(m, ':', 1, true)
    local E, key = sub(m, 1, c - 1), sub(m, c + 1)
    local found, exp, sz = readHead(ek)
    local size
    if found then
      if not exp then
        call('ZREM', X, m)
        call('HDEL', XS, m)
      elseif exp > now then
        call('ZADD', X, format('%d', exp), m)
      else
        size = #key + sz
        call('DEL', ek)
      end
    else
      -- Redis expired it natively (a grace period after its expiry): its size was kept aside.
      size = tonumber(call('HGET', XS, m) or '0')
    end
    if size then
      call('ZREM', G .. 'i:' .. E, key)
      call('ZREM', X, m)
      call('HDEL', XS, m)
      local d = deltas[E]
      if not d then
        d = { 0, 0 }
        deltas[E] = d
        order[#order + 1] = E
      end
      d[1] = d[1] - 1
      d[2] = d[2] - size
      reclaimed = reclaimed + 1
    end
  end
end
for _, E in ipairs(order) do addUsage(E, deltas[E][1], deltas[E][2]) end
local nextDue = call('ZRANGE', X, 0, 0, 'WITHSCORES')[2]
if STANDALONE then
  local tag = sub(G, #PREFIX + 3, -3)
  if nextDue then call('ZADD', KEYS[3], nextDue, tag) else call('ZREM', KEYS[3], tag) end
end
return { reclaimed, nextDue or '' }
`

/**
 * The clear function: removes the given keys of one scope (live or expired; JavaScript read them from its index),
 * publishing a delete per live key. KEYS: G x, G xs, [P:xg], i:E, q:E, level keys, then from ARGV[7] the entry
 * keys. ARGV: prefix, mode, G, E, now, seq TTL, index of the first entry key, count. Returns live keys removed.
 */
export const CLEAR = `
local G, E, now, SEQTTL = ARGV[3], ARGV[4], tonumber(ARGV[5]), ARGV[6]
local X, XS = KEYS[1], KEYS[2]
local I = G .. 'i:' .. E
local klen = #G + #E + 4
local ekAt = tonumber(ARGV[7])
local dk, db, alive = 0, 0, 0
local events = watched(G, E) and { 0 } or nil
for i = 1, tonumber(ARGV[8]) do
  local ek = KEYS[ekAt + i - 1]
  local key = sub(ek, klen)
  if call('ZSCORE', I, key) then
    local entry, exp, size = readHead(ek)
    if entry then
      size = size + #key
      if not exp or exp > now then
        alive = alive + 1
        if events then
          events[#events + 1] = 'd'
          events[#events + 1] = key
        end
      end
      call('DEL', ek)
    else
      size = tonumber(call('HGET', XS, sub(ek, #G + 3)) or '0')
    end
    if exp or not entry then
      call('ZREM', X, sub(ek, #G + 3))
      call('HDEL', XS, sub(ek, #G + 3))
    end
    call('ZREM', I, key)
    dk = dk - 1
    db = db - size
  end
end
addUsage(E, dk, db)
if events and #events > 1 then publish(G, E, events, SEQTTL) end
return alive
`

/** Entry headers (`version|expiresAt|` and a little more), for reads without values. KEYS: entry keys. */
export const HEADERS = `
local out = {}
for i, key in ipairs(KEYS) do out[i] = call('GETRANGE', key, 0, 63) end
return out
`

/**
 * Cluster only. Forgets a group's registration when the group holds nothing: KEYS: the group's top usage key, its
 * top child index, its registration marker `G r`. Returns 1 when it deleted the marker (the caller then removes
 * the group from its parent's child index, and re-checks), 0 when the group holds data or registered children.
 */
export const PRUNE = `
if call('EXISTS', KEYS[1]) == 1 or call('ZCARD', KEYS[2]) > 0 then return 0 end
call('DEL', KEYS[3])
return 1
`

/**
 * Cluster only. Moves a group's score in `P:xg` to its next expiry (or removes it), unless a writer lowered it
 * meanwhile. KEYS[1]: P:xg. ARGV: prefix, mode, tag, the score read before the sweep, the next expiry or ''.
 */
export const RESCHEDULE = `
local score = call('ZSCORE', KEYS[1], ARGV[3])
if score and tonumber(score) == tonumber(ARGV[4]) then
  if ARGV[5] == '' then call('ZREM', KEYS[1], ARGV[3]) else call('ZADD', KEYS[1], 'XX', ARGV[5], ARGV[3]) end
  return 1
end
return 0
`
