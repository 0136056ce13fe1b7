import { COMMON } from './common.js'
import { NUMBERS } from './numbers.js'

/**
 * The write script: a group commit of write requests into one group. Each request is decided (checks, incr,
 * quotas) before it writes anything, so a refusal leaves no trace and later requests still run.
 *
 * KEYS[1]: the group's version counter (routes the call to the group's slot).
 * ARGV: now, G, grace, request count, then per request:
 *   E, check count, (key, version or '-')..., op count, (kind s|d|i, key, value or by, expiresAt or '')...,
 *   quota count, (E of the capped scope, maxKeys or '', maxBytes or '')...
 * Returns per request one of:
 *   {'ok', existed, version, number, ...} (three fields per op; version/number '' where not applicable)
 *   {'conflict'} · {'quota', E, 'keys'|'bytes', limit, used, requested} · {'nan', key} · {'js'}
 */
export const WRITE = `${COMMON}${NUMBERS}${String.raw`
local now, G, grace = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local at = 4
local function arg() local v = ARGV[at]; at = at + 1; return v end

local function live(E, key)
  local entry = redis.call('GET', G .. 'e:' .. E .. ':' .. key)
  if not entry then return nil end
  local v, exp, value = parse(entry)
  if exp and exp <= now then return nil end
  return { v = v, exp = exp, value = value }
end

local function measure(E, order, staged)
  local dk, db = 0, 0
  for _, key in ipairs(order) do
    local old = redis.call('GET', G .. 'e:' .. E .. ':' .. key)
    if old then
      local _, _, value = parse(old)
      dk = dk - 1
      db = db - (#key + #value)
    end
    local row = staged[key]
    if row then
      dk = dk + 1
      db = db + #key + #row.value
    end
  end
  return dk, db
end

local function overQuota(quotas, dk, db)
  for _, q in ipairs(quotas) do
    local u = redis.call('HMGET', G .. 'u:' .. q[1], 'k', 'b')
    local k, b = tonumber(u[1] or '0'), tonumber(u[2] or '0')
    if q[3] ~= '' and db > 0 and b + db > tonumber(q[3]) then return { 'quota', q[1], 'bytes', q[3], tostring(b), tostring(db) } end
    if q[2] ~= '' and dk > 0 and k + dk > tonumber(q[2]) then return { 'quota', q[1], 'keys', q[2], tostring(k), tostring(dk) } end
  end
  return nil
end

local function apply(E, checks, ops, quotas)
  for _, c in ipairs(checks) do
    local cur = live(E, c[1])
    if (cur and cur.v or '-') ~= c[2] then return { 'conflict' } end
  end
  local staged, order, results, events = {}, {}, {}, {}
  local fresh = 0
  for _, op in ipairs(ops) do
    local kind, key = op[1], op[2]
    local before
    if staged[key] == nil then
      order[#order + 1] = key
      before = live(E, key)
    elseif staged[key] then
      before = staged[key]
    end
    if kind == 'd' then
      staged[key] = false
      results[#results + 1] = before and 1 or 0
      results[#results + 1] = ''
      results[#results + 1] = ''
      if before then events[#events + 1] = { 'd', key } end
    else
      local value, exp, number = op[3], nil, ''
      if op[4] ~= '' then exp = tonumber(op[4]) end
      if kind == 'i' then
        local base = 0
        if before then
          local n, why = jsnumber(before.value)
          if n == nil then
            if why == 'js' then return { 'js' } end
            return { 'nan', key }
          end
          base = n
        end
        number = jsformat(base + tonumber(op[3]))
        if number == nil then return { 'js' } end
        value = '\1j' .. number
        if op[4] == '' and before then exp = before.exp end
      end
      fresh = fresh + 1
      staged[key] = { value = value, exp = exp, slot = fresh }
      results[#results + 1] = before and 1 or 0
      results[#results + 1] = fresh
      results[#results + 1] = number
      events[#events + 1] = { 's', key, fresh }
    end
  end
  local dk, db = measure(E, order, staged)
  if #quotas > 0 then
    local refusal = overQuota(quotas, dk, db)
    -- Expired entries count until reclaimed: reclaim the group's, then decide again.
    if refusal and reclaim(G, now, 1000000) > 0 then
      dk, db = measure(E, order, staged)
      refusal = overQuota(quotas, dk, db)
    end
    if refusal then return refusal end
  end
  local base = 0
  if fresh > 0 then base = redis.call('INCRBY', G .. 'n', fresh) - fresh end
  for _, key in ipairs(order) do
    local row = staged[key]
    local m = E .. ':' .. key
    local ek = G .. 'e:' .. m
    if row then
      local expText = ''
      if row.exp then expText = string.format('%d', row.exp) end
      local entry = string.format('%d', base + row.slot) .. '|' .. expText .. '|' .. row.value
      if row.exp then
        redis.call('SET', ek, entry, 'PXAT', string.format('%d', row.exp + grace))
        redis.call('ZADD', G .. 'x', string.format('%d', row.exp), m)
        redis.call('HSET', G .. 'xs', m, #key + #row.value)
      else
        redis.call('SET', ek, entry)
        redis.call('ZREM', G .. 'x', m)
        redis.call('HDEL', G .. 'xs', m)
      end
      redis.call('ZADD', G .. 'i:' .. E, 0, key)
    else
      redis.call('DEL', ek)
      redis.call('ZREM', G .. 'i:' .. E, key)
      redis.call('ZREM', G .. 'x', m)
      redis.call('HDEL', G .. 'xs', m)
    end
  end
  addUsage(G, E, dk, db)
  local out = { 'ok' }
  for i = 1, #results, 3 do
    out[#out + 1] = results[i]
    local slot = results[i + 1]
    if slot == '' then out[#out + 1] = '' else out[#out + 1] = string.format('%d', base + slot) end
    out[#out + 1] = results[i + 2]
  end
  if #events > 0 then
    for _, e in ipairs(events) do
      if e[3] then e[3] = string.format('%d', base + e[3]) end
    end
    redis.call('SPUBLISH', G .. 'w:' .. E, cjson.encode(events))
  end
  return out
end

local out = {}
local count = tonumber(arg())
for r = 1, count do
  local E = arg()
  local checks, ops, quotas = {}, {}, {}
  for c = 1, tonumber(arg()) do checks[c] = { arg(), arg() } end
  for o = 1, tonumber(arg()) do ops[o] = { arg(), arg(), arg(), arg() } end
  for q = 1, tonumber(arg()) do quotas[q] = { arg(), arg(), arg() } end
  out[r] = apply(E, checks, ops, quotas)
end
return out
`}`
