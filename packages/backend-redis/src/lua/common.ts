/**
 * The head of the Lua library (see library.ts) and the helpers every function shares. Key names follow keys.ts; G is
 * a group prefix, E a scope id.
 *
 * Every function takes ARGV[1] = the key prefix and ARGV[2] = 's' (one server) or 'c' (a cluster), and declares in
 * KEYS every key it touches, computed in JavaScript: a cluster then refuses a call during a slot migration before
 * it runs (ASK/TRYAGAIN), never half-way through. Redis commands go through the local `call` — the lines a test
 * replaces (CALL) to check that every key a function touches was declared.
 *
 * The library is loaded once per server, so these definitions cost nothing per call; per-call state lives in
 * library-level variables that `begin` resets (Redis runs one function at a time).
 */
export const CALL = `local call
local function resetCall() call = call or redis.call end`

export const HEAD = `
local KEYS, ARGV
${CALL}
local sub, find, format
local PREFIX, STANDALONE
local watchers, refreshed
-- levels() of every scope id seen, per prefix and mode: pure functions of their inputs, so they outlive the call
-- (library state; a lost state only costs recomputing). Bounded: cleared when it holds LEVEL_MEMO_MAX ids.
local levelMemo, levelMemoSize, LEVEL_MEMO_MAX = {}, 0, 10000

-- Per-call state, reset at the start of every function. (While the library loads, Redis offers only a few globals:
-- string and redis.call are picked up on the first call.)
local function begin(keys, args)
  if not sub then sub, find, format = string.sub, string.find, string.format end
  KEYS, ARGV = keys, args
  PREFIX, STANDALONE = args[1], args[2] == 's'
  watchers, refreshed = nil, nil
  resetCall()
end

local function unescape(s)
  return (string.gsub(s, '%%(%x%x)', function(h) return string.char(tonumber(h, 16)) end))
end

-- The group prefix of a scope id: its first two segments are the hash tag.
local function groupOf(E)
  return PREFIX .. ':{' .. (string.match(E, '^/[^/]*/[^/]*') or E) .. '}:'
end

-- Size of an entry's value and its expiry (nil when none), from "version|expiresAt|value", without copying it.
local function sizeAndExp(entry)
  local a = find(entry, '|', 1, true)
  local b = find(entry, '|', a + 1, true)
  if b == a + 1 then return #entry - b, nil end
  return #entry - b, tonumber(sub(entry, a + 1, b - 1))
end

-- Calls cmd on key with a long flat list of arguments, in slices Lua's unpack can take.
local function each(cmd, key, list)
  for i = 1, #list, 4000 do call(cmd, key, unpack(list, i, math.min(i + 3999, #list))) end
end

-- The scopes whose subtree counters a change in E updates, top down: { u = usage key, c = parent's child index,
-- name = E's name there }. On a cluster: E's in-group ancestors from depth 2 (a shallower E alone); on one server
-- every ancestor up to the root. keys.ts levelKeys lists the same keys for KEYS.
local function levels(E)
  local byPrefix = levelMemo[PREFIX]
  if not byPrefix then
    byPrefix = { s = {}, c = {} }
    levelMemo[PREFIX] = byPrefix
  end
  local memo = byPrefix[STANDALONE and 's' or 'c']
  local out = memo[E]
  if out then return out end
  if levelMemoSize >= LEVEL_MEMO_MAX then
    levelMemo, levelMemoSize = { [PREFIX] = byPrefix }, 0
    byPrefix.s, byPrefix.c = {}, {}
    memo = byPrefix[STANDALONE and 's' or 'c']
  end
  out = {}
  local ids, names, n = { [0] = '/' }, {}, 0
  -- Empty segments count: the user level '' sits at depth 3 ('/w/p//u'). The root has none.
  for seg in string.gmatch(E == '/' and '' or E, '/([^/]*)') do
    n = n + 1
    ids[n] = (n == 1 and '' or ids[n - 1]) .. '/' .. seg
    names[n] = seg
  end
  local parent
  for k = (STANDALONE and 0 or math.min(n, 2)), n do
    local g = groupOf(ids[k])
    local lv = { u = g .. 'u:' .. ids[k] }
    if parent then
      lv.c = parent
      lv.name = unescape(names[k])
    end
    parent = g .. 'c:' .. ids[k]
    out[#out + 1] = lv
  end
  memo[E] = out
  levelMemoSize = levelMemoSize + 1
  return out
end

-- Adds dk keys and db bytes to the counters of E's levels, keeping child indexes in step: a child is listed in its
-- parent's index exactly while its subtree holds entries.
local function addUsage(E, dk, db)
  if dk == 0 and db == 0 then return end
  for _, lv in ipairs(levels(E)) do
    if dk ~= 0 then
      local after = call('HINCRBY', lv.u, 'k', dk)
      if after <= 0 then
        call('DEL', lv.u)
        if lv.c then call('ZREM', lv.c, lv.name) end
      else
        if db ~= 0 then call('HINCRBY', lv.u, 'b', db) end
        if lv.c and after == dk then call('ZADD', lv.c, 0, lv.name) end
      end
    else
      call('HINCRBY', lv.u, 'b', db)
    end
  end
end
`
