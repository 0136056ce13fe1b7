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

-- Per call: the version counter (read once, written once), usage deltas per scope (applied at the end; quota
-- checks add them to the stored counters), and events per scope (one publish per scope).
-- Versions: one INCRBY reserves a number for every set/incr in the call (numbers of refused requests go unused).
local reserve = 0
do
  local i = 5
  for _ = 1, tonumber(ARGV[4]) do
    i = i + 1
    i = i + 1 + 2 * tonumber(ARGV[i])
    local ops = tonumber(ARGV[i])
    for o = 0, ops - 1 do
      if ARGV[i + 1 + 4 * o] ~= 'd' then reserve = reserve + 1 end
    end
    i = i + 1 + 4 * ops
    i = i + 1 + 3 * tonumber(ARGV[i])
  end
end
local counter = 0
if reserve > 0 then counter = redis.call('INCRBY', G .. 'n', reserve) - reserve end
local deltas, deltaOrder = {}, {}
local events, eventOrder = {}, {}
-- Keys new to a scope's index, added with one variadic ZADD per scope at the end.
local additions, additionOrder = {}, {}
local function addToIndex(E, key)
  local list = additions[E]
  if not list then
    list = {}
    additions[E] = list
    additionOrder[#additionOrder + 1] = E
  end
  list[#list + 1] = 0
  list[#list + 1] = key
end

local function pending(E)
  local d = deltas[E]
  if not d then
    d = { k = 0, b = 0 }
    deltas[E] = d
    deltaOrder[#deltaOrder + 1] = E
  end
  return d
end

-- Stored subtree usage of a scope plus what this call has added so far (for every request's scope below it).
local function usageNow(qE)
  local u = redis.call('HMGET', G .. 'u:' .. qE, 'k', 'b')
  local k, b = tonumber(u[1] or '0'), tonumber(u[2] or '0')
  for _, E in ipairs(deltaOrder) do
    if E == qE or string.sub(E, 1, #qE + 1) == qE .. '/' then
      k = k + deltas[E].k
      b = b + deltas[E].b
    end
  end
  return k, b
end

local function overQuota(quotas, dk, db)
  for _, q in ipairs(quotas) do
    local k, b = usageNow(q[1])
    if q[3] ~= '' and db > 0 and b + db > tonumber(q[3]) then return { 'quota', q[1], 'bytes', q[3], tostring(b), tostring(db) } end
    if q[2] ~= '' and dk > 0 and k + dk > tonumber(q[2]) then return { 'quota', q[1], 'keys', q[2], tostring(k), tostring(dk) } end
  end
  return nil
end

-- The common case — plain sets of distinct keys, no checks, no quotas: SET … GET writes each entry and returns
-- the one it replaced in a single command, which is all the accounting needs.
local function plainSets(E, ops)
  if #ops == 0 then return nil end
  local seen = {}
  for _, op in ipairs(ops) do
    if op[1] ~= 's' or seen[op[2]] then return nil end
    seen[op[2]] = true
  end
  local dk, db = 0, 0
  local out, changes = { 'ok' }, {}
  for _, op in ipairs(ops) do
    local key, value = op[2], op[3]
    local exp = op[4] ~= '' and tonumber(op[4]) or nil
    counter = counter + 1
    local version = string.format('%d', counter)
    local m = E .. ':' .. key
    local ek = G .. 'e:' .. m
    local entry = version .. '|' .. (op[4] ~= '' and string.format('%d', exp) or '') .. '|' .. value
    local previous
    if exp then
      previous = redis.call('SET', ek, entry, 'PXAT', string.format('%d', exp + grace), 'GET')
      redis.call('ZADD', G .. 'x', string.format('%d', exp), m)
      redis.call('HSET', G .. 'xs', m, #key + #value)
    else
      previous = redis.call('SET', ek, entry, 'GET')
    end
    local old = previous and header(previous) or nil
    if old then
      dk = dk - 1
      db = db - (#key + old.size)
      if old.exp and not exp then
        redis.call('ZREM', G .. 'x', m)
        redis.call('HDEL', G .. 'xs', m)
      end
    else
      addToIndex(E, key)
    end
    dk = dk + 1
    db = db + #key + #value
    out[#out + 1] = (old and (not old.exp or old.exp > now)) and 1 or 0
    out[#out + 1] = version
    out[#out + 1] = ''
    changes[#changes + 1] = { 's', key, version }
  end
  local d = pending(E)
  d.k = d.k + dk
  d.b = d.b + db
  local list = events[E]
  if not list then
    list = {}
    events[E] = list
    eventOrder[#eventOrder + 1] = E
  end
  for _, e in ipairs(changes) do list[#list + 1] = e end
  return out
end

local function apply(E, checks, ops, quotas)
  if #checks == 0 and #quotas == 0 then
    local done = plainSets(E, ops)
    if done then return done end
  end
  -- Physical rows this request touches, each read once: { exp, value } or false when absent.
  local stored = {}
  local function physical(key)
    local row = stored[key]
    if row == nil then
      local entry = redis.call('GET', G .. 'e:' .. E .. ':' .. key)
      row = entry and header(entry) or false
      stored[key] = row
    end
    return row
  end
  local function live(key)
    local row = physical(key)
    if row and (not row.exp or row.exp > now) then return row end
    return nil
  end
  for _, c in ipairs(checks) do
    local cur = live(c[1])
    if (cur and cur.v or '-') ~= c[2] then return { 'conflict' } end
  end
  local staged, order, results, changes = {}, {}, {}, {}
  local fresh = 0
  for _, op in ipairs(ops) do
    local kind, key = op[1], op[2]
    local before
    if staged[key] == nil then
      order[#order + 1] = key
      before = live(key)
    elseif staged[key] then
      before = staged[key]
    end
    if kind == 'd' then
      staged[key] = false
      results[#results + 1] = before and 1 or 0
      results[#results + 1] = ''
      results[#results + 1] = ''
      if before then changes[#changes + 1] = { 'd', key } end
    else
      local value, exp, number = op[3], nil, ''
      if op[4] ~= '' then exp = tonumber(op[4]) end
      if kind == 'i' then
        local base = 0
        if before then
          local n, why = jsnumber(before.value or string.sub(before.entry, before.start))
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
      changes[#changes + 1] = { 's', key, fresh }
    end
  end
  local function measure()
    local dk, db = 0, 0
    for _, key in ipairs(order) do
      local old = physical(key)
      if old then
        dk = dk - 1
        db = db - (#key + old.size)
      end
      local row = staged[key]
      if row then
        dk = dk + 1
        db = db + #key + #row.value
      end
    end
    return dk, db
  end
  local dk, db = measure()
  if #quotas > 0 then
    local refusal = overQuota(quotas, dk, db)
    -- Expired entries count until reclaimed: reclaim the group's, then decide again.
    if refusal and reclaim(G, now, 1000000) > 0 then
      stored = {}
      dk, db = measure()
      refusal = overQuota(quotas, dk, db)
    end
    if refusal then return refusal end
  end
  local base = counter
  counter = counter + fresh
  for _, key in ipairs(order) do
    local row = staged[key]
    local old = physical(key)
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
        if old and old.exp then
          redis.call('ZREM', G .. 'x', m)
          redis.call('HDEL', G .. 'xs', m)
        end
      end
      if not old then addToIndex(E, key) end
    elseif old then
      redis.call('DEL', ek)
      redis.call('ZREM', G .. 'i:' .. E, key)
      if old.exp then
        redis.call('ZREM', G .. 'x', m)
        redis.call('HDEL', G .. 'xs', m)
      end
    end
  end
  local d = pending(E)
  d.k = d.k + dk
  d.b = d.b + db
  if #changes > 0 then
    local list = events[E]
    if not list then
      list = {}
      events[E] = list
      eventOrder[#eventOrder + 1] = E
    end
    for _, e in ipairs(changes) do
      if e[3] then e[3] = string.format('%d', base + e[3]) end
      list[#list + 1] = e
    end
  end
  local out = { 'ok' }
  for i = 1, #results, 3 do
    out[#out + 1] = results[i]
    local slot = results[i + 1]
    if slot == '' then out[#out + 1] = '' else out[#out + 1] = string.format('%d', base + slot) end
    out[#out + 1] = results[i + 2]
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
for _, E in ipairs(additionOrder) do
  local list = additions[E]
  for i = 1, #list, 2000 do
    redis.call('ZADD', G .. 'i:' .. E, unpack(list, i, math.min(i + 1999, #list)))
  end
end
for _, E in ipairs(deltaOrder) do addUsage(G, E, deltas[E].k, deltas[E].b) end
for _, E in ipairs(eventOrder) do redis.call('SPUBLISH', G .. 'w:' .. E, cjson.encode(events[E])) end
return out
`}`
