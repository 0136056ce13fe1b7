import type { StoredEntry } from '../backend/contract.js'
import { InvalidConfigError } from '../errors.js'
import type { Entry } from '../types.js'
import type { ScopeContext } from './context.js'

/** Turns a stored entry into a public `Entry` (decoding the value when present). */
export function toEntry<T>(scope: ScopeContext, stored: StoredEntry): Entry<T> {
  const entry = { key: stored.key, value: undefined as T, version: stored.version } as Entry<T>
  if (stored.value !== undefined) entry.value = scope.engine.codec.decode(stored.value) as T
  else delete (entry as Partial<Entry<T>>).value
  if (stored.expiresAt !== undefined) entry.expiresAt = stored.expiresAt
  return entry
}

/** Reads one key. Not an async function: `get` is the hottest path, and every promise hop shows. */
function readOne(scope: ScopeContext, key: unknown, values: boolean): Promise<StoredEntry | undefined> {
  let valid: string
  try {
    valid = scope.key(key)
  } catch (error) {
    return Promise.reject(error)
  }
  const { engine } = scope
  const options = { values, now: engine.clock() }
  return engine.call(() => engine.backend.get(scope.path, [valid], options)).then(first)
}

function first<T>(rows: T[]): T {
  return rows[0]!
}

/** `KVStore.get`: the decoded value, or `fallback` when absent or expired. */
export function get<T>(scope: ScopeContext, key: string, fallback?: T): Promise<T | undefined> {
  const codec = scope.engine.codec
  return readOne(scope, key, true).then((stored) => (stored ? (codec.decode(stored.value!) as T) : fallback))
}

/** `KVStore.getEntry`: value, version and expiry, or undefined. */
export function getEntry<T>(scope: ScopeContext, key: string): Promise<Entry<T> | undefined> {
  return readOne(scope, key, true).then((stored) => stored && toEntry<T>(scope, stored))
}

/** `KVStore.has`: reads without values. */
export function has(scope: ScopeContext, key: string): Promise<boolean> {
  return readOne(scope, key, false).then((stored) => stored !== undefined)
}

/** `KVStore.getMany`: one backend read of a copy of the validated keys. */
export async function getMany<T>(scope: ScopeContext, keys: readonly string[]): Promise<(T | undefined)[]> {
  if (!Array.isArray(keys)) throw new InvalidConfigError('getMany.keys', 'must be an array of keys')
  // A copy of the validated keys: the caller may reuse its array at once, and the backend may keep ours.
  const valid = keys.map((key) => scope.key(key))
  if (valid.length === 0) return []
  const now = scope.engine.clock()
  const stored = await scope.engine.call(() => scope.engine.backend.get(scope.path, valid, { values: true, now }))
  const codec = scope.engine.codec
  return stored.map((entry) => (entry ? (codec.decode(entry.value!) as T) : undefined))
}
