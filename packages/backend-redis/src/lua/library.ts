import { createHash } from 'node:crypto'
import { CALL, HEAD } from './common.js'
import { EVENTS, PROBE } from './events.js'
import { CLEAR, HEADERS, PRUNE, RESCHEDULE, SWEEP } from './maintenance.js'
import { FINISH, LEASE, MOVE } from './migrate.js'
import { NUMBERS } from './numbers.js'
import { WRITE, WRITE_DEFS } from './write.js'
import { BULK } from './write-bulk.js'
import { GENERAL } from './write-general.js'

/** The functions of the library, with the body each runs. */
const BODIES = {
  write: WRITE,
  sweep: SWEEP,
  clear: CLEAR,
  headers: HEADERS,
  probe: PROBE,
  prune: PRUNE,
  reschedule: RESCHEDULE,
  move: MOVE,
  finish: FINISH,
  lease: LEASE,
} as const

export type FunctionName = keyof typeof BODIES

/** Functions that only read, so Redis may run them anywhere. */
const READ_ONLY = new Set<FunctionName>(['headers'])

/**
 * For tests: every Redis command first checks that its key (the command's first argument) was declared in KEYS, and
 * fails the call otherwise.
 */
const CHECKED_CALL = `local declared
local keyless = { SPUBLISH = true, PUBSUB = true }
local function call(cmd, ...)
  if not declared then
    declared = {}
    for _, k in ipairs(KEYS) do declared[k] = true end
  end
  local key = ...
  if not keyless[cmd] and not declared[key] then error('undeclared key ' .. tostring(key) .. ' in ' .. cmd) end
  return redis.call(cmd, ...)
end
local function resetCall() declared = nil end`

/** A Redis Functions library: its name (which carries a hash of its source) and the source to FUNCTION LOAD. */
export interface LibrarySource {
  name: string
  source: string
  /** The registered name of each function. */
  functions: Record<FunctionName, string>
}

/**
 * The backend's Lua, as one Redis Functions library (Redis >= 7). Helpers are defined once when the library loads,
 * not on every call as a script's would be (that preamble cost ~6 µs per call); each function starts with `begin`.
 * The name is `cubby_` + a hash of the source, so processes running different versions never call each other's.
 * With `checkKeys`, a variant that fails on any key a function touches without declaring it.
 */
export function librarySource(checkKeys = false): LibrarySource {
  const head = checkKeys ? HEAD.replace(CALL, CHECKED_CALL) : HEAD
  if (head === HEAD && checkKeys) throw new Error('the library head must define `call` as CALL does')
  const registrations = Object.entries(BODIES).map(([fn, body]) => {
    const flags = READ_ONLY.has(fn as FunctionName) ? "'no-writes'" : ''
    return `redis.register_function{ function_name = '__LIB___${fn}', flags = { ${flags} }, callback = function(keys, args)
begin(keys, args)
${body}
end }`
  })
  const template = [head, NUMBERS, EVENTS, WRITE_DEFS, BULK, GENERAL, ...registrations].join('\n')
  const name = `cubby_${createHash('sha1').update(template).digest('hex').slice(0, 16)}`
  const functions = Object.fromEntries(Object.keys(BODIES).map((fn) => [fn, `${name}_${fn}`])) as Record<
    FunctionName,
    string
  >
  return { name, source: `#!lua name=${name}\n${template.replaceAll('__LIB__', name)}`, functions }
}
