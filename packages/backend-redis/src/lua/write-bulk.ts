/**
 * The write function's bulk path: a run of small plain sets without TTL in one scope (a `setMany`, or a group commit
 * of many `set` calls), written with one MGET (the previous entries, for accounting) and one MSET per 4,000 keys.
 *
 * What a batch costs on the server is per-entry work in Lua: every string Lua makes (slicing a value out of a
 * concatenated argument, formatting a version, joining version and value) costs about as much as the MSET of that
 * entry. So each op arrives as its own argument, already laid out as its entry `version||value`, and goes to MSET as
 * it came. The versions in it are the client's: a block of versions this library state granted it (see `grant`),
 * counted in the group's counter like every other version. A write names its block and where in it it starts; the
 * state checks that it granted the block and that none of those versions was used before, and only then stores the
 * entries as they are. Otherwise (a restarted or failed-over server, a new library, a block given out of order) the
 * versions come from the counter as for any other write, and each entry's version is replaced.
 *
 * Record (ARGV, after the kind 'B'): now, E, op count, block ('' for none), first version in it, versions wanted for
 * the next bulk write (0: none), where `now` changes ('' or 'op:now,…', op counted from 1: each request is decided
 * at its own time), then one entry per op; its key is the next entry key in KEYS.
 * Reply: 'B' .. ('c' when the client's versions were used, else the first version given) .. ':' .. an existed bit
 * per op, then, when versions were wanted, '+' .. first version of the granted block .. ',' .. its size.
 */
export const BULK = `
-- Blocks granted to clients, by counter key and first version: { next unused, end }. Carved from this state's own
-- reserved versions (reserveVersions), so after a lost counter they are still never handed out again.
local granted, grantedCount, MAX_GRANTED = {}, 0, 10000

-- As everywhere in the write function, reserveVersions(n) = b stands for versions b + 1 .. b + n.
local function grant(size)
  local base = reserveVersions(size) + 1
  if grantedCount >= MAX_GRANTED then granted, grantedCount = {}, 0 end
  grantedCount = grantedCount + 1
  granted[N .. ':' .. format('%d', base)] = { base, base + size }
  return '+' .. format('%d', base) .. ',' .. format('%d', size)
end

-- Whether the client may use versions [start, start + n) of its block: granted here, and none of them used yet.
local function ownVersions(block, start, n)
  if block == '' then return false end
  local key = N .. ':' .. block
  local b = granted[key]
  if not b or start < b[1] or start + n > b[2] then return false end
  -- G n may have been lost since the grant (see reserveVersions). The block's last version is b[2] - 1; the state's
  -- own block, which it was carved from, usually reaches further.
  local mine = blocks[N]
  keepCounted(math.max(mine and mine[2] or 0, b[2] - 1))
  b[1] = start + n
  if b[1] == b[2] then -- used up
    granted[key] = nil
    grantedCount = grantedCount - 1
  end
  return true
end

-- The \`now\` of op i of a run whose calls changed time at the ops listed in nows ('op:now,…').
local function nowOf(now, nows, i)
  for op, t in string.gmatch(nows, '(%d+):(%d+)') do
    if tonumber(op) > i then break end
    now = tonumber(t)
  end
  return now
end

local function bulkRun(now, E, n, block, start, want, nows)
  local I = G .. 'i:' .. E
  local klen = #G + #E + 4 -- where the user key starts in an entry key
  local k0, a0 = ekAt - 1, at - 1
  ekAt, at = ekAt + n, at + n
  local own = ownVersions(block, start, n)
  local first
  local kv = {}
  if own then
    for i = 1, n do
      kv[2 * i - 1] = KEYS[k0 + i]
      kv[2 * i] = ARGV[a0 + i]
    end
  else
    first = reserveVersions(n)
    local bare = block == '' -- entries came as '||value'
    for i = 1, n do
      local e = ARGV[a0 + i]
      kv[2 * i - 1] = KEYS[k0 + i]
      kv[2 * i] = format('%d', first + i) .. (bare and e or sub(e, (find(e, '|', 1, true))))
    end
  end
  local previous = {}
  for i = 1, n, 4000 do
    local part = call('MGET', unpack(KEYS, k0 + i, k0 + math.min(i + 3999, n)))
    for j = 1, #part do previous[i + j - 1] = part[j] end
  end
  for i = 1, 2 * n, 4000 do call('MSET', unpack(kv, i, math.min(i + 3999, 2 * n))) end
  local events = watched(G, E) and { 0 } or nil
  local adds, added, bits, seen = {}, 0, {}, {}
  local dk, db = 0, 0
  for i = 1, n do
    local ek, entry = kv[2 * i - 1], kv[2 * i]
    local bar = find(entry, '|', 1, true)
    local len = #entry - bar - 1
    local keyBytes = #ek - klen + 1
    local oldSize, oldExp = seen[ek], nil
    if not oldSize and previous[i] then oldSize, oldExp = sizeAndExp(previous[i]) end
    seen[ek] = len
    if oldSize then
      dk = dk - 1
      db = db - keyBytes - oldSize
      if oldExp then track(sub(ek, MSTART), false) end
      bits[i] = (not oldExp or oldExp > (nows == '' and now or nowOf(now, nows, i))) and '1' or '0'
    else
      local m, ghost
      if ghostsPossible() then
        m = sub(ek, MSTART)
        ghost = call('HGET', XS, m)
      end
      if ghost then
        -- Redis expired it natively: it is still counted and indexed, with its size kept in xs.
        dk = dk - 1
        db = db - tonumber(ghost)
        track(m, false)
      else
        added = added + 2
        adds[added - 1] = '0' -- a string: a number would be converted for every member
        adds[added] = sub(ek, klen)
      end
      bits[i] = '0'
    end
    dk = dk + 1
    db = db + keyBytes + len
    if events then
      events[#events + 1] = 's'
      events[#events + 1] = sub(ek, klen)
      events[#events + 1] = sub(entry, 1, bar - 1)
    end
  end
  each('ZADD', I, adds)
  flushTtl()
  addUsage(E, dk, db)
  if events and #events > 1 then publish(G, E, events, SEQTTL) end
  local out = 'B' .. (own and 'c' or format('%d', first + 1)) .. ':' .. table.concat(bits)
  if want > 0 then out = out .. grant(want) end
  return out
end
`
