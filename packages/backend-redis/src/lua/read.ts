import { COMMON } from './common.js'

/**
 * The list script: up to `limit` live entries of a scope between two ZRANGEBYLEX bounds, skipping expired ones
 * without returning fewer than asked while more remain. Pages advance by key, never by offset.
 * KEYS[1]: the scope's index. ARGV: G, E, now, min, max, reverse ('1' or ''), limit, values ('1' or '').
 * Returns key, entry, key, entry, … (entries cut after the header when values are not wanted).
 */
export const LIST = `${COMMON}${`
local G, E, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local min, max, reverse, limit, values = ARGV[4], ARGV[5], ARGV[6] == '1', tonumber(ARGV[7]), ARGV[8] == '1'
local out, got = {}, 0
while got < limit do
  local want = limit - got + 8
  local keys
  if reverse then
    keys = redis.call('ZREVRANGEBYLEX', KEYS[1], max, min, 'LIMIT', 0, want)
  else
    keys = redis.call('ZRANGEBYLEX', KEYS[1], min, max, 'LIMIT', 0, want)
  end
  for _, key in ipairs(keys) do
    local entry = redis.call('GET', G .. 'e:' .. E .. ':' .. key)
    if entry then
      local a = string.find(entry, '|', 1, true)
      local b = string.find(entry, '|', a + 1, true)
      local exp = string.sub(entry, a + 1, b - 1)
      if exp == '' or tonumber(exp) > now then
        out[#out + 1] = key
        if values then out[#out + 1] = entry else out[#out + 1] = string.sub(entry, 1, b) end
        got = got + 1
        if got >= limit then break end
      end
    end
    if reverse then max = '(' .. key else min = '(' .. key end
  end
  if #keys < want then break end
end
return out
`}`

/**
 * The sweep script: reclaims up to `limit` due entries of a group. KEYS[1]: the group's expiry set.
 * ARGV: G, now, limit. Returns { reclaimed, earliest remaining expiry or '' }.
 */
export const SWEEP = `${COMMON}${`
local G, now, limit = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local n = reclaim(G, now, limit)
local next = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return { n, next[2] or '' }
`}`

/**
 * The clear script: removes up to `limit` of a scope's own entries (live or expired), publishing a delete per live
 * key. KEYS[1]: the scope's index. ARGV: G, E, now, limit. Returns { live keys removed, entries removed }.
 */
export const CLEAR = `${COMMON}${`
local G, E, now, limit = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local keys = redis.call('ZRANGE', KEYS[1], 0, limit - 1)
local dk, db, alive, events = 0, 0, 0, {}
for _, key in ipairs(keys) do
  local m = E .. ':' .. key
  local entry = redis.call('GET', G .. 'e:' .. m)
  local size
  if entry then
    local _, exp, value = parse(entry)
    size = #key + #value
    if not exp or exp > now then
      alive = alive + 1
      events[#events + 1] = { 'd', key }
    end
    redis.call('DEL', G .. 'e:' .. m)
  else
    size = tonumber(redis.call('HGET', G .. 'xs', m) or '0')
  end
  dk = dk - 1
  db = db - size
  redis.call('ZREM', KEYS[1], key)
  redis.call('ZREM', G .. 'x', m)
  redis.call('HDEL', G .. 'xs', m)
end
addUsage(G, E, dk, db)
if #events > 0 then redis.call('SPUBLISH', G .. 'w:' .. E, cjson.encode(events)) end
return { alive, #keys }
`}`
