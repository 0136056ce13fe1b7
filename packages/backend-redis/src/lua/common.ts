/**
 * Lua shared by the scripts (prepended to each). Key names follow keys.ts; G is the group prefix, E a scope id.
 * Everything a script touches lives in one group, so one script is atomic on a cluster too.
 */
export const COMMON = `
local function unescape(s)
  return (string.gsub(s, '%%(%x%x)', function(h) return string.char(tonumber(h, 16)) end))
end

-- An entry string "version|expiresAt|value" -> version, expiresAt (number or nil), value bytes.
local function parse(entry)
  local a = string.find(entry, '|', 1, true)
  local b = string.find(entry, '|', a + 1, true)
  local exp = string.sub(entry, a + 1, b - 1)
  return string.sub(entry, 1, a - 1), (exp ~= '' and tonumber(exp) or nil), string.sub(entry, b + 1)
end

-- The header of an entry without copying its value: version, expiresAt, the value's size, and where it starts.
local function header(entry)
  local a = string.find(entry, '|', 1, true)
  local b = string.find(entry, '|', a + 1, true)
  local exp = string.sub(entry, a + 1, b - 1)
  return { v = string.sub(entry, 1, a - 1), exp = (exp ~= '' and tonumber(exp) or nil), size = #entry - b, entry = entry, start = b + 1 }
end

-- The scopes whose subtree counters a change in E touches within its group, from the group's top down to E.
-- Each level names its in-group parent and its own (unescaped) name, for the parent's child index.
local function levels(E)
  local segs = {}
  for seg in string.gmatch(E, '/([^/]+)') do segs[#segs + 1] = seg end
  if #segs < 2 then return { { E = E } } end
  local out = {}
  local acc = '/' .. segs[1]
  for k = 2, #segs do
    local parent = acc
    acc = acc .. '/' .. segs[k]
    out[#out + 1] = { E = acc, parent = (k >= 3) and parent or nil, name = unescape(segs[k]) }
  end
  return out
end

-- Adds dk keys and db bytes to E's subtree counters (and its in-group ancestors'), keeping child indexes in step:
-- a child is listed in its parent's index exactly while its subtree holds entries.
local function addUsage(G, E, dk, db)
  if dk == 0 and db == 0 then return end
  for _, lv in ipairs(levels(E)) do
    local key = G .. 'u:' .. lv.E
    local after = redis.call('HINCRBY', key, 'k', dk)
    local before = after - dk
    redis.call('HINCRBY', key, 'b', db)
    if after == 0 then redis.call('DEL', key) end
    if lv.parent then
      if before == 0 and after > 0 then
        redis.call('ZADD', G .. 'c:' .. lv.parent, 0, lv.name)
      elseif before > 0 and after == 0 then
        redis.call('ZREM', G .. 'c:' .. lv.parent, lv.name)
      end
    end
  end
end

-- Removes up to limit entries of the group whose expiry is due, giving their space back; returns how many.
local function reclaim(G, now, limit)
  local due = redis.call('ZRANGEBYSCORE', G .. 'x', '-inf', now, 'LIMIT', 0, limit)
  for _, m in ipairs(due) do
    local c = string.find(m, ':', 1, true)
    local E, key = string.sub(m, 1, c - 1), string.sub(m, c + 1)
    local ek = G .. 'e:' .. m
    local entry = redis.call('GET', ek)
    local size
    if entry then
      local _, exp, value = parse(entry)
      if exp and exp <= now then
        size = #key + #value
        redis.call('DEL', ek)
      end
    else
      -- Redis expired it natively (a grace period after its logical expiry): its size was kept aside.
      size = tonumber(redis.call('HGET', G .. 'xs', m) or '0')
    end
    if size then
      redis.call('ZREM', G .. 'i:' .. E, key)
      addUsage(G, E, -1, -size)
    end
    redis.call('ZREM', G .. 'x', m)
    redis.call('HDEL', G .. 'xs', m)
  end
  return #due
end
`
