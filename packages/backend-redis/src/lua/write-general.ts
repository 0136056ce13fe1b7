/**
 * The general request of the write script (see write.ts for the argument layout; this fragment runs inside it and
 * uses its state: G, KEYS/ARGV cursors, the version counter, the TTL tracker). Reads every touched entry once,
 * checks versions, stages the ops (incr included), measures the net usage change, checks quotas, and only then
 * writes the entries followed at once by their bookkeeping.
 */
export const GENERAL = String.raw`
-- Whether expired entries are waiting to be reclaimed where a quota counts them (this group; on one server, any).
local function reclaimable(now)
  if call('ZRANGEBYSCORE', X, '-inf', now, 'LIMIT', 0, 1)[1] then return true end
  return STANDALONE and call('ZRANGEBYSCORE', KEYS[5], '-inf', now, 'LIMIT', 0, 1)[1] ~= nil
end

-- One delete without checks (the awaited single delete): general's accounting without its tables. Its quota
-- rules are skipped: a delete only frees space, so no rule can refuse it.
local function singleDelete(now, E, nQuotas)
  local ek = KEYS[ekAt]
  ekAt = ekAt + 1
  at = at + 1 + 3 * nQuotas
  local klen = #G + #E + 4
  local keyBytes = #ek - klen + 1
  local v, exp, size = readHead(ek)
  local ghost = false
  if not v then
    -- Expired natively by Redis, still counted and indexed (xs keeps key bytes + value bytes), or absent.
    local kept = ghostsPossible() and call('HGET', XS, sub(ek, MSTART))
    if not kept then return 'o0::' end
    ghost, exp, size = true, 0, tonumber(kept) - keyBytes
  end
  local existed = not ghost and (not exp or exp > now)
  if not ghost then call('DEL', ek) end
  call('ZREM', G .. 'i:' .. E, sub(ek, klen))
  if exp then track(sub(ek, MSTART), false) end
  flushTtl()
  addUsage(E, -1, -(keyBytes + size))
  if existed and watched(G, E) then publish(G, E, { 0, 'd', sub(ek, klen) }, SEQTTL) end
  return existed and 'o1::' or 'o0::'
end

local function general(now, E, flags, nChecks, nOps, nQuotas)
  if nChecks == 0 and nOps == 1 and ARGV[at] == 'd' then return singleDelete(now, E, nQuotas) end
  local I = G .. 'i:' .. E
  local klen = #G + #E + 4
  -- Read every argument first, so a refusal leaves the cursors right for the next request.
  local checks, ops, quotas = {}, {}, {}
  for c = 1, nChecks do
    checks[c] = { KEYS[ekAt], ARGV[at] }
    ekAt = ekAt + 1
    at = at + 1
  end
  for o = 1, nOps do
    local op = { kind = ARGV[at], ek = KEYS[ekAt] }
    ekAt = ekAt + 1
    if op.kind == 's' then
      if ARGV[at + 1] == '*' then
        op.entry = ARGV[at + 2] -- a large value, as a whole entry with a zeroed version (see setLarge)
        at = at + 1
      else
        local len = tonumber(ARGV[at + 1])
        op.value = sub(BLOB, vpos, vpos + len - 1)
        vpos = vpos + len
      end
      op.exp = ARGV[at + 2]
      at = at + 3
    elseif op.kind == 'i' then
      op.by = ARGV[at + 1]
      op.exp = ARGV[at + 2]
      at = at + 3
    else
      at = at + 1
    end
    ops[o] = op
  end
  for q = 1, nQuotas do
    quotas[q] = { ARGV[at], ARGV[at + 1], ARGV[at + 2] }
    at = at + 3
  end

  -- Physical rows, each read once by header (a large value is not copied): { v, exp, size, entry (when short),
  -- start }, a ghost (expired natively, still counted), or false.
  local rows = {}
  local function physical(ek)
    local row = rows[ek]
    if row == nil then
      local v, exp, size, whole, start = readHead(ek)
      if v then
        row = { v = v, exp = exp, size = size, entry = whole, start = start }
      else
        -- xs keeps key bytes + value bytes; rows count value bytes.
        local ghost = ghostsPossible() and call('HGET', XS, sub(ek, MSTART))
        row = ghost and { ghost = true, exp = 0, size = tonumber(ghost) - (#ek - klen + 1) } or false
      end
      rows[ek] = row
    end
    return row
  end
  local function live(ek)
    local row = physical(ek)
    if row and not row.ghost and (not row.exp or row.exp > now) then return row end
    return nil
  end

  for _, c in ipairs(checks) do
    local cur = live(c[1])
    if (cur and cur.v or '-') ~= c[2] then return 'c' end
  end

  local staged, order, results, changes = {}, {}, {}, {}
  local fresh = 0
  for i, op in ipairs(ops) do
    local ek = op.ek
    local before
    if staged[ek] == nil then
      order[#order + 1] = ek
      before = live(ek)
    elseif staged[ek] then
      before = staged[ek]
    end
    if op.kind == 'd' then
      staged[ek] = false
      results[#results + 1] = { before and '1' or '0' }
      if before then changes[#changes + 1] = { 'd', ek } end
    else
      local value, exp, number = op.value, nil, ''
      if op.exp ~= '' then exp = tonumber(op.exp) end
      local row = { value = value, exp = exp }
      if op.kind == 'i' then
        local base = 0
        if before then
          local stored = before.value or (before.entry and sub(before.entry, before.start))
          if not stored then stored = sub(call('GET', ek), before.start) end -- a long entry: never a number, but ask
          local n, why = jsnumber(stored)
          if n == nil then
            if why == 'js' then return 'j' end
            return 'n' .. i
          end
          base = n
        end
        local by = tonumber(op.by)
        if not sumAllowed(base, by, base + by) then return 'r' .. i .. ':' .. numtext(base) end
        number = jsformat(base + by)
        row.value = '\1j' .. number
        if op.exp == '' and before then row.exp = before.exp end
      end
      if op.entry then
        row.entry, row.start = op.entry, 19 + #op.exp
        row.size = #op.entry - 18 - #op.exp
      else
        row.size = #row.value
      end
      fresh = fresh + 1
      row.slot = fresh
      staged[ek] = row
      results[#results + 1] = { before and '1' or '0', row, number }
      changes[#changes + 1] = { 's', ek, row }
    end
  end

  -- Net change of the request: every touched row out (ghosts and expired rows included: they are still counted),
  -- every staged row in.
  local dk, db = 0, 0
  for _, ek in ipairs(order) do
    local keyBytes = #ek - klen + 1
    local old = physical(ek)
    if old then
      dk = dk - 1
      db = db - keyBytes - old.size
    end
    local row = staged[ek]
    if row then
      dk = dk + 1
      db = db + keyBytes + row.size
    end
  end

  for qi, q in ipairs(quotas) do
    local u = call('HMGET', groupOf(q[1]) .. 'u:' .. q[1], 'k', 'b')
    local k, b = tonumber(u[1] or '0'), tonumber(u[2] or '0')
    local refusal
    if q[3] ~= '' and db > 0 and b + db > tonumber(q[3]) then
      refusal = 'q' .. qi .. ':b:' .. q[3] .. ':' .. format('%d', b) .. ':' .. format('%d', db)
    elseif q[2] ~= '' and dk > 0 and k + dk > tonumber(q[2]) then
      refusal = 'q' .. qi .. ':k:' .. q[2] .. ':' .. format('%d', k) .. ':' .. format('%d', dk)
    end
    if refusal then
      if not find(flags, 'n', 1, true) and reclaimable(now) then return 'x' end
      return refusal
    end
  end

  local base = counter
  counter = counter + fresh
  -- A large value's version has 16 digits: it was written into the entry's zeroed placeholder.
  local function versionOf(row)
    return format(row.entry and '%016d' or '%d', base + row.slot)
  end
  local adds = {}
  for _, ek in ipairs(order) do
    local row, old = staged[ek], physical(ek)
    local key = sub(ek, klen)
    if row then
      if row.entry then
        setLarge(ek, row.entry, row.exp, versionOf(row), now)
      else
        local entry = versionOf(row) .. '|' .. (row.exp and format('%d', row.exp) or '') .. '|' .. row.value
        if row.exp then
          call('SET', ek, entry, 'PX', nativeTtl(row.exp, now))
        else
          call('SET', ek, entry)
        end
      end
      if row.exp then
        track(sub(ek, MSTART), { row.exp, #key + row.size })
      elseif old and old.exp then
        track(sub(ek, MSTART), false)
      end
      if not old then
        adds[#adds + 1] = '0' -- a string: a number would be converted for every member
        adds[#adds + 1] = key
      end
    elseif old then
      if not old.ghost then call('DEL', ek) end
      call('ZREM', I, key)
      if old.exp then track(sub(ek, MSTART), false) end
    end
  end
  each('ZADD', I, adds)
  flushTtl()
  addUsage(E, dk, db)
  if #changes > 0 and watched(G, E) then
    local list = { 0 }
    for _, e in ipairs(changes) do
      list[#list + 1] = e[1]
      list[#list + 1] = sub(e[2], klen)
      if e[3] then list[#list + 1] = versionOf(e[3]) end
    end
    publish(G, E, list, SEQTTL)
  end
  local out = {}
  for i, r in ipairs(results) do
    if r[2] then
      out[i] = r[1] .. ':' .. versionOf(r[2]) .. ':' .. r[3]
    else
      out[i] = r[1] .. '::'
    end
  end
  return 'o' .. table.concat(out, ',')
end
`
