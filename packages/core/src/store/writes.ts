import type { WriteCheck, WriteOp } from '../backend/contract.js'
import { describe } from '../describe.js'
import { ConflictError, InvalidConfigError } from '../errors.js'
import type { DeleteOptions, IncrOptions, SetManyOptions, SetOptions, UpdateOptions } from '../types.js'
import type { ScopeContext } from './context.js'

/** Shared empty preconditions (backends must not mutate request arrays). */
const NO_CHECKS: WriteCheck[] = []
// The options each call knows, made once (a literal in the call would be a new array every time).
const SET_OPTIONS = ['ttl', 'ifVersion'] as const
const DELETE_OPTIONS = ['ifVersion'] as const
const INCR_OPTIONS = ['ttl'] as const
const SET_MANY_OPTIONS = ['ttl'] as const

/**
 * `KVStore.set`: one set op, with an `ifVersion` check when given; resolves to the new version. Not an async
 * function (like the other hot calls below): argument errors reject the returned promise, and the backend's promise
 * is settled in one step.
 */
export function set(scope: ScopeContext, key: string, value: unknown, options?: SetOptions): Promise<string> {
  try {
    const opts = scope.options('set', options, SET_OPTIONS)
    const valid = scope.key(key)
    const now = scope.engine.clock()
    const op: WriteOp = { type: 'set', key: valid, value: scope.encode(valid, value) }
    const expiresAt = scope.expiry('set.ttl', opts.ttl, now)
    if (expiresAt !== undefined) op.expiresAt = expiresAt
    const checks =
      opts.ifVersion === undefined
        ? NO_CHECKS
        : [{ key: valid, version: scope.version('set.ifVersion', opts.ifVersion) }]
    return scope.send('set', checks, [op], now, (result) => {
      if (!result.ok) throw new ConflictError(valid)
      return result.results[0]!.version!
    })
  } catch (error) {
    return Promise.reject(error)
  }
}

/** `KVStore.delete`: one delete op, with an `ifVersion` check when given. */
export function del(scope: ScopeContext, key: string, options?: DeleteOptions): Promise<boolean> {
  try {
    const opts = scope.options('delete', options, DELETE_OPTIONS)
    const valid = scope.key(key)
    const checks =
      opts.ifVersion === undefined
        ? NO_CHECKS
        : [{ key: valid, version: scope.version('delete.ifVersion', opts.ifVersion) }]
    return scope.send('delete', checks, [{ type: 'delete', key: valid }], scope.engine.clock(), (result) => {
      if (!result.ok) throw new ConflictError(valid)
      return result.results[0]!.existed
    })
  } catch (error) {
    return Promise.reject(error)
  }
}

/** `KVStore.incr`: one incr op; the backend computes the sum (with `incrSum`). */
export function incr(scope: ScopeContext, key: string, by = 1, options?: IncrOptions): Promise<number> {
  try {
    const opts = scope.options('incr', options, INCR_OPTIONS)
    const valid = scope.key(key)
    if (typeof by !== 'number' || !Number.isFinite(by)) {
      throw new InvalidConfigError('incr.by', `must be a finite number, got ${describe(by)}`)
    }
    const now = scope.engine.clock()
    const op: WriteOp = { type: 'incr', key: valid, by }
    const expiresAt = scope.expiry('incr.ttl', opts.ttl, now)
    if (expiresAt !== undefined) op.expiresAt = expiresAt
    return scope.send('incr', NO_CHECKS, [op], now, (result) => {
      if (!result.ok) throw new ConflictError(valid) // no checks were sent, so a backend cannot report one
      return result.results[0]!.number!
    })
  } catch (error) {
    return Promise.reject(error)
  }
}

/** `KVStore.setMany`: one batch of set ops, counted against `maxBatchSize` while the entries are read. */
export function setMany(
  scope: ScopeContext,
  entries: Iterable<readonly [string, unknown]> | Record<string, unknown>,
  options?: SetManyOptions,
): Promise<void> {
  try {
    const opts = scope.options('setMany', options, SET_MANY_OPTIONS)
    if (typeof entries !== 'object' || entries === null) {
      throw new InvalidConfigError('setMany.entries', 'must be an iterable of [key, value] pairs or a plain object')
    }
    const pairs = Symbol.iterator in entries ? entries : Object.entries(entries)
    const now = scope.engine.clock()
    const expiresAt = scope.expiry('setMany.ttl', opts.ttl, now)
    const ops: WriteOp[] = []
    const max = scope.engine.limits.maxBatchSize
    for (const pair of pairs as Iterable<readonly [string, unknown]>) {
      // Count while iterating, so an endless generator fails at once instead of filling memory.
      if (ops.length === max) scope.tooMany('setMany', `more than ${max}`)
      if (!Array.isArray(pair) || pair.length !== 2) {
        throw new InvalidConfigError('setMany.entries', 'each entry must be a [key, value] pair')
      }
      const key = scope.key(pair[0])
      const op: WriteOp = { type: 'set', key, value: scope.encode(key, pair[1]) }
      if (expiresAt !== undefined) op.expiresAt = expiresAt
      ops.push(op)
    }
    return ops.length > 0 ? scope.send('setMany', NO_CHECKS, ops, now, nothing) : Promise.resolve()
  } catch (error) {
    return Promise.reject(error)
  }
}

function nothing(): void {}

/** `KVStore.deleteMany`: one batch of delete ops; resolves to how many keys existed. */
export async function deleteMany(scope: ScopeContext, keys: readonly string[]): Promise<number> {
  if (!Array.isArray(keys)) throw new InvalidConfigError('deleteMany.keys', 'must be an array of keys')
  if (keys.length > scope.engine.limits.maxBatchSize) scope.tooMany('deleteMany', String(keys.length))
  const ops: WriteOp[] = keys.map((key) => ({ type: 'delete', key: scope.key(key) }))
  if (ops.length === 0) return 0
  const result = await scope.write('deleteMany', NO_CHECKS, ops, scope.engine.clock())
  if (!result.ok) return 0
  return result.results.filter((r) => r.existed).length
}

/** Retries `update` with jittered exponential backoff: busy writers slow it down, never make it fail. */
function backoff(attempt: number): Promise<void> {
  if (attempt === 0) return new Promise((resolve) => setImmediate(resolve))
  const ceiling = Math.min(50, 2 ** Math.min(attempt, 6))
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling))
}

/** `KVStore.update`: read, `fn`, conditional write; retried with backoff until it commits or runs out of retries. */
export async function update<T>(
  scope: ScopeContext,
  key: string,
  fn: (current: T | undefined) => T | undefined | Promise<T | undefined>,
  options?: UpdateOptions,
): Promise<T | undefined> {
  const opts = scope.options('update', options, ['ttl', 'maxRetries'])
  const valid = scope.key(key)
  if (typeof fn !== 'function') throw new InvalidConfigError('update.fn', 'must be a function (current) => next')
  const maxRetries = opts.maxRetries ?? Number.POSITIVE_INFINITY
  if (
    typeof maxRetries !== 'number' ||
    !(maxRetries >= 0) ||
    (Number.isFinite(maxRetries) && !Number.isInteger(maxRetries))
  ) {
    throw new InvalidConfigError(
      'update.maxRetries',
      `must be a non-negative integer or Infinity, got ${describe(maxRetries)}`,
    )
  }
  scope.expiry('update.ttl', opts.ttl, 0) // validate up front
  const { engine } = scope
  for (let attempt = 0; ; attempt++) {
    const readAt = engine.clock()
    const [current] = await engine.call(() => engine.backend.get(scope.path, [valid], { values: true, now: readAt }))
    const next = await fn(current ? (engine.codec.decode(current.value!) as T) : undefined)
    const check: WriteCheck = { key: valid, version: current ? current.version : null }
    const now = engine.clock()
    let op: WriteOp
    if (next === undefined) {
      if (!current) return undefined
      op = { type: 'delete', key: valid }
    } else {
      op = { type: 'set', key: valid, value: scope.encode(valid, next) }
      const expiresAt = opts.ttl === undefined ? current?.expiresAt : scope.expiry('update.ttl', opts.ttl, now)
      if (expiresAt !== undefined) op.expiresAt = expiresAt
    }
    const result = await scope.write('update', [check], [op], now)
    if (result.ok) return next
    if (attempt >= maxRetries) {
      throw new ConflictError(
        valid,
        `update of key ${JSON.stringify(valid)} lost to other writers ${attempt + 1} times (maxRetries ${maxRetries})`,
      )
    }
    await backoff(attempt)
  }
}
