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

/** Reads one key, settled through `onRows`. Not an async function: `get` is the hottest path, and every promise hop shows. */
function readOne<R>(
  scope: ScopeContext,
  key: unknown,
  values: boolean,
  onRows: (rows: (StoredEntry | undefined)[]) => R,
): Promise<R> {
  let valid: string
  try {
    valid = scope.key(key)
  } catch (error) {
    return Promise.reject(error)
  }
  const { engine } = scope
  return engine.read(scope.path, [valid], { values, now: engine.clock() }, onRows)
}

/** `KVStore.get`: the decoded value, or `fallback` when absent or expired. */
export function get<T>(scope: ScopeContext, key: string, fallback?: T): Promise<T | undefined> {
  const { engine } = scope
  if (fallback === undefined) return readOne(scope, key, true, engine.firstValue as (rows: unknown[]) => T | undefined)
  return readOne(scope, key, true, (rows) => {
    const stored = rows[0]
    return stored ? (engine.codec.decode(stored.value!) as T) : fallback
  })
}

/** `KVStore.getEntry`: value, version and expiry, or undefined. */
export function getEntry<T>(scope: ScopeContext, key: string): Promise<Entry<T> | undefined> {
  return readOne(scope, key, true, (rows) => {
    const stored = rows[0]
    return stored && toEntry<T>(scope, stored)
  })
}

/** `KVStore.has`: reads without values. */
export function has(scope: ScopeContext, key: string): Promise<boolean> {
  return readOne(scope, key, false, exists)
}

function exists(rows: unknown[]): boolean {
  return rows[0] !== undefined
}

/** `KVStore.getMany`: one backend read of a copy of the validated keys. */
export function getMany<T>(scope: ScopeContext, keys: readonly string[]): Promise<(T | undefined)[]> {
  // A copy of the validated keys: the caller may reuse its array at once, and the backend may keep ours.
  const valid: string[] = []
  try {
    if (!Array.isArray(keys)) throw new InvalidConfigError('getMany.keys', 'must be an array of keys')
    for (let i = 0; i < keys.length; i++) valid.push(scope.key(keys[i]))
  } catch (error) {
    return Promise.reject(error)
  }
  if (valid.length === 0) return Promise.resolve([])
  const { engine } = scope
  return engine.read(
    scope.path,
    valid,
    { values: true, now: engine.clock() },
    engine.allValues as (rows: unknown[]) => (T | undefined)[],
  )
}
