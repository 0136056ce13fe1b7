/**
 * The write function: a group commit of write requests into one group, applied in order. Each request is decided
 * (checks, incr, quotas) before it writes anything, so a refusal leaves no trace and later requests still run; and
 * each request — or run of plain sets — writes its data and then at once its bookkeeping (index, TTL index, usage,
 * events), so data and counters never part.
 *
 * KEYS: G n, G x, G xs, G r, [P:xg on one server], then each scope's i:, q: and level keys (keys.ts), then from
 *   ARGV[9] on the entry key of every check and op, in the order the records below use them.
 * ARGV: prefix, mode, G, grace, versions to reserve, seq TTL, call flags ('r' check the group's registration
 *   marker, 'm' set it), the small set values concatenated (a large one comes as its own argument: copying
 *   value bytes is what a large write costs in Lua), index of the first entry key in KEYS, record count, records:
 *   plain run: 'P', now, E, requests, '1' (one op each) or '*', expiry ('' none, '*' per op, else shared), then per
 *     request [op count if '*'] and per op: value length (or '*' and the whole entry of a large value, version zeroed), [expiresAt if '*']
 *   bulk run:  'B', … — a run of small plain sets without TTL, each op its entry ready to store (lua/write-bulk.ts)
 *   general:   'G', now, E, flags ('n': a quota refusal is final), check count, op count, quota count,
 *     check versions ('-' = absent), ops ('s' length expiresAt | 's' '*' entry expiresAt | 'i' by expiresAt | 'd'), quotas (E, maxKeys, maxBytes)
 * Returns 'g' when the registration marker is missing (nothing done), else
 *   lowered earliest expiry (cluster; '' if not lowered) .. '|' .. records joined by ';':
 *   plain run 'P<first version>:<existed bit per op>' (versions are consecutive) — bulk run 'B…' (lua/write-bulk.ts)
 *   — general 'o<existed:version:number
 *   per op, joined by ','>', 'c' (conflict), 'q<rule>:<k|b>:<limit>:<used>:<requested>', 'x' (over quota, but
 *   expired entries may free space: sweep and retry), 'n<op>' (not a number), 'j' (let JS add),
 *   'r<op>:<base>' (the sum breaks the incrSum rule).
 */
export const WRITE_DEFS = `
local G, grace, RESERVE, SEQTTL, FLAGS, BLOB, N, X, XS, MARKER
local at, ekAt, vpos, counter, MSTART
local xsLive, xOrder, xState, oldMin, callMin

-- Whether the group has TTL sizes at all: only then can a missing entry be one Redis expired natively.
local function ghostsPossible()
  if xsLive == nil then xsLive = call('HLEN', XS) > 0 end
  return xsLive
end

-- An entry's header without copying a large value: version, expiry (or nil), value size, the whole entry when it
-- is short (else nil) and where its value starts; nothing when there is no entry. The first read takes a small
-- value's entry whole (a value under LARGE_VALUE_BYTES plus its header), so only a large one costs a STRLEN.
local HEAD_BYTES = 1056
local function readHead(ek)
  local head = call('GETRANGE', ek, 0, HEAD_BYTES - 1)
  if head == '' then return nil end
  local a = find(head, '|', 1, true)
  local b = find(head, '|', a + 1, true)
  local whole = #head < HEAD_BYTES and head or nil
  local total = whole and #head or call('STRLEN', ek)
  local exp = nil
  if b > a + 1 then exp = tonumber(sub(head, a + 1, b - 1)) end
  return sub(head, 1, a - 1), exp, total - b, whole, b + 1
end

-- The native safety expiry of an entry expiring at exp, as a time to live from now (the cubby's clock): Redis counts
-- it on its own clock, so no skew between the two can make it fire before the logical expiry (an absolute PXAT
-- would, by however far the server's clock runs ahead).
local function nativeTtl(exp, now)
  return format('%d', math.max(exp - now, 0) + grace)
end

-- Writes a large entry that came whole, with 16 zeros for its version, then puts the version in place: the value
-- bytes are copied once (into Redis), not concatenated in Lua first.
local function setLarge(ek, entry, exp, version, now)
  if exp then
    call('SET', ek, entry, 'PX', nativeTtl(exp, now))
  else
    call('SET', ek, entry)
  end
  call('SETRANGE', ek, 0, version)
end

-- TTL index changes of the current request or run: member -> { expiresAt, size } or false, applied in one go.
local function track(m, state)
  if not xState then xOrder, xState = {}, {} end
  if xState[m] == nil then xOrder[#xOrder + 1] = m end
  xState[m] = state
end
local function flushTtl()
  if not xOrder then return end
  local adds, sizes, removes = {}, {}, {}
  for _, m in ipairs(xOrder) do
    local s = xState[m]
    if s then
      adds[#adds + 1] = format('%d', s[1])
      adds[#adds + 1] = m
      sizes[#sizes + 1] = m
      sizes[#sizes + 1] = s[2]
      if not callMin or s[1] < callMin then callMin = s[1] end
    else
      removes[#removes + 1] = m
    end
  end
  if #adds > 0 and oldMin == false and not STANDALONE then
    local first = call('ZRANGE', X, 0, 0, 'WITHSCORES')
    oldMin = first[2] and tonumber(first[2]) or nil
  end
  each('ZADD', X, adds)
  each('HSET', XS, sizes)
  each('ZREM', X, removes)
  each('HDEL', XS, removes)
  xOrder, xState = nil, nil
end

-- The group's versions come from its counter G n, reserved in blocks: one INCRBY serves many calls. A block lives
-- in this library's Lua state; every version in it was counted in G n before it was handed out, so a version is
-- never given twice even when the state is lost (restart, failover, a new library, a slot moving away and back):
-- the next INCRBY starts past every block ever reserved. Versions stay opaque; what is lost with a state is only
-- the unused rest of its blocks. A counter found below a block this state used (FLUSHALL, FLUSHDB, G n deleted)
-- is moved past it, so the versions handed out after such a loss still never repeat.
-- That move must not wait for the next INCRBY: versions served from a block (or a client's granted block) while the
-- counter is lost would be stored with nothing counting them, and a loss of this state before the next INCRBY
-- (failover, restart with persistence, FUNCTION FLUSH) would start the counter again below them. So the first use of
-- a block in a call checks that G n still counts it (one GET) and restores it if not.
local VERSION_BLOCK, MAX_BLOCKS = 1024, 10000
local blocks, blockCount = {}, 0
local counted -- per call: the top G n was checked to count
local function keepCounted(top)
  if counted and counted >= top then return end
  local c = tonumber(call('GET', N) or '0')
  if c < top then call('INCRBY', N, top - c) end
  counted = top
end
local function reserveVersions(count)
  local b = blocks[N]
  if b and b[1] + count <= b[2] then keepCounted(b[2]) end
  if not b or b[1] + count > b[2] then
    local size = math.max(count, VERSION_BLOCK)
    local top = call('INCRBY', N, size)
    if b and top - size < b[2] then top = call('INCRBY', N, b[2] - (top - size)) end
    if not b then
      if blockCount >= MAX_BLOCKS then blocks, blockCount = {}, 0 end
      blockCount = blockCount + 1
    end
    b = { top - size, top }
    blocks[N] = b
    counted = top
  end
  local base = b[1]
  b[1] = base + count
  return base
end

-- One plain set (the awaited single write): plainRun's accounting without its per-op tables, since every string or
-- table Lua allocates is what a call spends its time on. expText is '' (no TTL) or the expiry.
local function singleSet(now, E, expText)
  local ek = KEYS[ekAt]
  ekAt = ekAt + 1
  local klen = #G + #E + 4 -- where the user key starts in the entry key
  local keyBytes = #ek - klen + 1
  local exp, m, len, version, oldSize, oldExp
  counter = counter + 1
  if expText ~= '' then
    exp = tonumber(expText)
    m = sub(ek, MSTART)
  end
  if ARGV[at] == '*' then
    -- A large value, sent as a whole entry: only the old entry's header is read, never its value.
    local entry = ARGV[at + 1]
    at = at + 2
    len = #entry - 18 - #expText
    version = format('%016d', counter)
    local _
    _, oldExp, oldSize = readHead(ek)
    setLarge(ek, entry, exp, version, now)
  else
    len = tonumber(ARGV[at])
    at = at + 1
    local value = (vpos == 1 and len == #BLOB) and BLOB or sub(BLOB, vpos, vpos + len - 1)
    vpos = vpos + len
    version = format('%d', counter)
    local before
    if exp then
      before = call('SET', ek, version .. '|' .. expText .. '|' .. value, 'PX', nativeTtl(exp, now), 'GET')
    else
      before = call('SET', ek, version .. '||' .. value, 'GET')
    end
    if before then oldSize, oldExp = sizeAndExp(before) end
  end
  if exp then track(m, { exp, keyBytes + len }) end
  local dk, db, bit = 1, keyBytes + len, '0'
  if oldSize then
    dk = 0
    db = db - keyBytes - oldSize
    if oldExp and not exp then track(m or sub(ek, MSTART), false) end
    if not oldExp or oldExp > now then bit = '1' end
  elseif call('ZADD', G .. 'i:' .. E, '0', sub(ek, klen)) == 0 then
    -- Indexed already although the entry is gone: Redis expired it natively (its size is kept in xs).
    m = m or sub(ek, MSTART)
    local ghost = call('HGET', XS, m)
    if ghost then
      dk = 0
      db = db - tonumber(ghost)
      if not exp then track(m, false) end
    end
  end
  flushTtl()
  addUsage(E, dk, db)
  if watched(G, E) then publish(G, E, { 0, 's', sub(ek, klen), version }, SEQTTL) end
  return 'P' .. format('%d', counter) .. ':' .. bit
end

-- A run of plain sets (no checks, no quotas) in one scope, where some op has a TTL or a large value (a run of small
-- values without TTL is a bulk run: lua/write-bulk.ts; one op: singleSet). Each op's previous entry is all the
-- accounting needs: SET … GET per entry (a large value: see setLarge).
local function plainRun(now, E, count, opsMode, expMode)
  if count == 1 and opsMode == '1' then return singleSet(now, E, expMode) end
  local I = G .. 'i:' .. E
  local klen = #G + #E + 4 -- where the user key starts in an entry key
  local events = watched(G, E) and { 0 } or nil
  local adds, bits = {}, {}
  local dk, db = 0, 0
  local first = counter + 1
  -- Collect every op into parallel arrays (a table per op costs allocations, which is what Lua spends its time on):
  -- entry key, value (small) or whole entry (large), value length (false: large), expiry text.
  local eks, vals, lens, exps, n = {}, {}, {}, {}, 0
  for _ = 1, count do
    local ops = 1
    if opsMode == '*' then
      ops = tonumber(ARGV[at])
      at = at + 1
    end
    for _ = 1, ops do
      n = n + 1
      eks[n] = KEYS[ekAt]
      ekAt = ekAt + 1
      local len = ARGV[at]
      if len == '*' then
        vals[n], lens[n] = ARGV[at + 1], false
        at = at + 2
      else
        len = tonumber(len)
        vals[n], lens[n] = sub(BLOB, vpos, vpos + len - 1), len
        vpos = vpos + len
        at = at + 1
      end
      if expMode == '*' then
        exps[n] = ARGV[at]
        at = at + 1
      else
        exps[n] = expMode
      end
    end
  end
  local single = n == 1
  for i = 1, n do
    local ek, expText = eks[i], exps[i]
    local keyBytes = #ek - klen + 1
    local exp, m, version, oldSize, oldExp, len
    counter = counter + 1
    if expText ~= '' then
      exp = tonumber(expText)
      m = sub(ek, MSTART)
    end
    if not lens[i] then
      -- A large value, sent as a whole entry: only the old entry's header is read, never its value.
      local entry = vals[i]
      len = #entry - 18 - #expText
      version = format('%016d', counter)
      local _
      _, oldExp, oldSize = readHead(ek)
      setLarge(ek, entry, exp, version, now)
    else
      len = lens[i]
      version = format('%d', counter)
      local before
      if exp then
        before = call('SET', ek, version .. '|' .. expText .. '|' .. vals[i], 'PX', nativeTtl(exp, now), 'GET')
      else
        before = call('SET', ek, version .. '||' .. vals[i], 'GET')
      end
      if before then oldSize, oldExp = sizeAndExp(before) end
    end
    if exp then track(m, { exp, keyBytes + len }) end
    if oldSize then
      dk = dk - 1
      db = db - keyBytes - oldSize
      if oldExp and not exp then track(m or sub(ek, MSTART), false) end
      bits[#bits + 1] = (not oldExp or oldExp > now) and '1' or '0'
    else
      local ghost
      if single then
        -- Indexed already although the entry is gone: Redis expired it natively (its size is kept in xs). For one
        -- op this costs no command beyond the index update itself.
        if call('ZADD', I, '0', sub(ek, klen)) == 0 then
          m = m or sub(ek, MSTART)
          ghost = call('HGET', XS, m)
        end
      elseif ghostsPossible() then
        m = m or sub(ek, MSTART)
        ghost = call('HGET', XS, m)
      end
      if ghost then
        -- Redis expired it natively: it is still counted and indexed, with its size kept in xs.
        dk = dk - 1
        db = db - tonumber(ghost)
        if not exp then track(m, false) end
      elseif not single then
        adds[#adds + 1] = '0' -- a string: a number would be converted for every member
        adds[#adds + 1] = sub(ek, klen)
      end
      bits[#bits + 1] = '0'
    end
    dk = dk + 1
    db = db + keyBytes + len
    if events then
      events[#events + 1] = 's'
      events[#events + 1] = sub(ek, klen)
      events[#events + 1] = version or format('%d', counter)
    end
  end
  each('ZADD', I, adds)
  flushTtl()
  addUsage(E, dk, db)
  if events and #events > 1 then publish(G, E, events, SEQTTL) end
  return 'P' .. format('%d', first) .. ':' .. table.concat(bits)
end
`

/** The body of the write function (after WRITE_DEFS and GENERAL). */
export const WRITE = `
G, grace, RESERVE, SEQTTL, FLAGS, BLOB = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6], ARGV[7], ARGV[8]
N, X, XS, MARKER = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
if find(FLAGS, 'r', 1, true) and call('EXISTS', MARKER) == 0 then
  if not find(FLAGS, 'm', 1, true) then return 'g' end
  call('SET', MARKER, '1')
end
at, ekAt, vpos, counter, MSTART = 11, tonumber(ARGV[9]), 1, 0, #G + 3
xsLive, xOrder, xState, oldMin, callMin, counted = nil, nil, nil, false, nil, nil
if RESERVE > 0 then counter = reserveVersions(RESERVE) end
local records = tonumber(ARGV[10])
local out = records > 1 and {} or nil
local only
for r = 1, records do
  local result
  local kind, now, E = ARGV[at], tonumber(ARGV[at + 1]), ARGV[at + 2]
  if kind == 'P' then
    local count, opsMode, expMode = tonumber(ARGV[at + 3]), ARGV[at + 4], ARGV[at + 5]
    at = at + 6
    result = plainRun(now, E, count, opsMode, expMode)
  elseif kind == 'B' then
    local count, block, start, want = tonumber(ARGV[at + 3]), ARGV[at + 4], tonumber(ARGV[at + 5]), tonumber(ARGV[at + 6])
    local nows = ARGV[at + 7]
    at = at + 8
    result = bulkRun(now, E, count, block, start, want, nows)
  else
    local flags, checks, ops, quotas = ARGV[at + 3], tonumber(ARGV[at + 4]), tonumber(ARGV[at + 5]), tonumber(ARGV[at + 6])
    at = at + 7
    result = general(now, E, flags, checks, ops, quotas)
  end
  if out then out[r] = result else only = result end
end
local lowered = ''
if callMin then
  if STANDALONE then
    call('ZADD', KEYS[5], 'LT', format('%d', callMin), sub(G, #PREFIX + 3, -3))
  elseif oldMin == nil or callMin < oldMin then
    lowered = format('%d', callMin) -- the writer registers the group in P:xg (another slot)
  end
end
return lowered .. '|' .. (out and table.concat(out, ';') or only)
`
