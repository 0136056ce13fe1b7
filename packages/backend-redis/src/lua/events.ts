/**
 * Lua for change events, shared by the write and clear functions. A scope's events go out on its sharded channel
 * `G w:E` as one JSON array per request: `[seq, "s", key, version, "d", key, …]`. `seq` comes from the scope's
 * counter `G q:E`, counted only while someone subscribes; a subscriber checks that it sees every number (a gap means
 * lost messages: its watch ends with an error instead of going deaf). When nobody subscribes to the channel
 * (`PUBSUB SHARDNUMSUB`, answered by this node, which is the one that serves the slot) nothing is built or
 * published. Redis runs one function at a time, so a subscription acknowledged before the call started is counted,
 * and one made after it cannot have missed it.
 */
export const EVENTS = `
-- Whether anyone subscribes to E's channel.
local function watched(G, E)
  local n = watchers and watchers[E]
  if n == nil then
    n = call('PUBSUB', 'SHARDNUMSUB', G .. 'w:' .. E)[2]
    watchers = watchers or {}
    watchers[E] = n
  end
  return n > 0
end

-- Publishes list (whose first element is a placeholder for the sequence number) on E's channel.
local function publish(G, E, list, ttl)
  local q = G .. 'q:' .. E
  list[1] = call('INCR', q)
  if not (refreshed and refreshed[E]) then
    call('PEXPIRE', q, ttl)
    refreshed = refreshed or {}
    refreshed[E] = true
  end
  call('SPUBLISH', G .. 'w:' .. E, cjson.encode(list))
end
`

/**
 * The probe: publishes `["p", token, seq]` on a scope's channel with the scope's current sequence number (0 when it
 * has none). A new watch is ready once its own probe comes back (every later write is then delivered, numbered from
 * that seq); a running watch sends one every heartbeat and ends if it does not arrive or its number shows a gap.
 * KEYS[1]: `G q:E`. ARGV: prefix, mode, channel, token, seq TTL (ms).
 */
export const PROBE = `
local seq = call('GET', KEYS[1])
if seq then call('PEXPIRE', KEYS[1], ARGV[5]) end
call('SPUBLISH', ARGV[3], cjson.encode({ 'p', ARGV[4], tonumber(seq or '0') }))
return 1
`
