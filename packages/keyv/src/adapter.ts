import { EventEmitter } from 'node:events'
import {
  store as ambientStore,
  user as ambientUser,
  DEFAULT_LIMITS,
  InvalidConfigError,
  type KVStore,
} from '@cubby/core'
import { chunks, groupByTtl } from './batches.js'

/** Options of `KeyvCubby`. */
export interface KeyvCubbyOptions {
  /**
   * Most keys per Cubby batch call; larger keyv batches are split into chunks of this size. Pass your cubby's
   * `cubby.limits.maxBatchSize` when you changed it. @default 10000 (`DEFAULT_LIMITS.maxBatchSize`)
   */
  maxBatchSize?: number
  /**
   * Also reject the call when it fails, after the `error` event (keyv adapters' convention; set the same option on
   * `Keyv` to have keyv rethrow too). @default false
   */
  throwOnErrors?: boolean
  /** Entries read per round trip by `iterator()`. @default 100 */
  pageSize?: number
}

/**
 * The marker keyv 5 looks for before it turns on `keyv.iterator`: keyv enables it only for stores whose
 * `opts.dialect` is one of its own SQL/Redis dialects or whose `opts.url` contains one of their names. KeyvCubby's
 * iterator works on every Cubby backend (memory included), so its `opts.url` carries `iterator=redis`.
 */
export const ITERABLE_URL = 'cubby://keyv?iterator=redis'

/** One keyv entry of `setMany`. */
export interface KeyvEntry {
  key: string
  value: unknown
  ttl?: number | undefined
}

/**
 * A keyv 5 store over a Cubby scope: `new Keyv({ store: new KeyvCubby(cubby.scope('app', 'cache')) })`.
 *
 * keyv namespace `ns` lives in the child scope `ns` of the given scope (the scope itself without a namespace), so
 * `clear()` of one namespace never touches another namespace or the scope's other data. Failures are emitted as
 * `error` events (keyv forwards them to its own `error` event) and, with `throwOnErrors`, reject the call too; with
 * no `error` listener at all the call rejects.
 */
export class KeyvCubby extends EventEmitter {
  /** What keyv reads from its store: `dialect` and the `url` that turns on `keyv.iterator` (see `ITERABLE_URL`). */
  opts: { dialect: 'cubby'; url: string; [option: string]: unknown }
  /** Set by keyv to its namespace; picks the child scope. @default undefined (the scope itself) */
  namespace: string | undefined
  /** See `KeyvCubbyOptions.throwOnErrors`. */
  throwOnErrors: boolean
  private readonly maxBatchSize: number
  private readonly pageSize: number
  private cached: Target | undefined
  /**
   * Whether `scope` is the ambient `store` or `user`, which act on the enclosing `cubby.run()`'s scope: its child
   * scope must then be taken per call, never cached (a cached one would stay bound to the first run's context).
   */
  private readonly ambient: boolean
  /** `error` handlers of the single-key calls, made once: no closure per call. */
  private readonly failUndefined = (error: unknown): undefined => this.fail(error, undefined)
  private readonly failFalse = (error: unknown): boolean => this.fail(error, false)

  /** Wraps `scope`; keyv namespaces become its child scopes. */
  constructor(
    readonly scope: KVStore,
    options: KeyvCubbyOptions = {},
  ) {
    super()
    this.opts = { dialect: 'cubby', url: ITERABLE_URL }
    this.ambient = scope === ambientStore || scope === ambientUser
    this.throwOnErrors = options.throwOnErrors ?? false
    this.maxBatchSize = positive('maxBatchSize', options.maxBatchSize ?? DEFAULT_LIMITS.maxBatchSize)
    this.pageSize = positive('pageSize', options.pageSize ?? 100)
  }

  /**
   * The stored value (keyv's serialized string), or undefined. Like `set`, `has` and `delete`, one Cubby call and
   * one promise step of its own: no `async` wrapper, so a `Promise.all` of keyv calls reaches the backend in the
   * same tick and is coalesced there (one MGET on Redis, one transaction on SQLite).
   */
  get(key: string): Promise<unknown> {
    let target: Target
    try {
      target = this.target()
    } catch (error) {
      return this.failLater(error, undefined)
    }
    return target.scope.get(strip(target, key)).then(undefined, this.failUndefined)
  }

  /** The stored values of `keys`, in order; chunked by `maxBatchSize`. */
  async getMany(keys: string[]): Promise<unknown[]> {
    return this.guard([], async () => {
      const target = this.target()
      const out: unknown[] = []
      for (const part of chunks(keys, this.maxBatchSize))
        out.push(...(await target.scope.getMany(part.map((k) => strip(target, k)))))
      return out
    })
  }

  /** Stores `value`; `ttl` in milliseconds (keyv's unit, Cubby's too). Resolves true, or false after `error`. */
  set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    let target: Target
    try {
      target = this.target()
    } catch (error) {
      return this.failLater(error, false)
    }
    return target.scope.set(strip(target, key), value, ttl ? { ttl } : undefined).then(written, this.failFalse)
  }

  /**
   * Stores every entry: one Cubby `setMany` per TTL and `maxBatchSize` chunk. Each chunk is all-or-nothing; the
   * result says per entry whether it was written.
   */
  async setMany(entries: KeyvEntry[]): Promise<boolean[]> {
    const results: boolean[] = entries.map(() => false)
    await this.guard(undefined, async () => {
      const target = this.target()
      for (const [ttl, group] of groupByTtl(entries)) {
        for (const part of chunks(group, this.maxBatchSize)) {
          await target.scope.setMany(
            part.map(({ entry }) => [strip(target, entry.key), entry.value] as const),
            ttl ? { ttl } : undefined,
          )
          for (const { index } of part) results[index] = true
        }
      }
    })
    return results
  }

  /** Whether `key` holds a live value. */
  has(key: string): Promise<boolean> {
    let target: Target
    try {
      target = this.target()
    } catch (error) {
      return this.failLater(error, false)
    }
    return target.scope.has(strip(target, key)).then(undefined, this.failFalse)
  }

  /** Whether each of `keys` holds a live value. */
  async hasMany(keys: string[]): Promise<boolean[]> {
    return this.guard(
      keys.map(() => false),
      async () => {
        const target = this.target()
        return Promise.all(keys.map((key) => target.scope.has(strip(target, key))))
      },
    )
  }

  /** Resolves to whether `key` was removed. */
  delete(key: string): Promise<boolean> {
    let target: Target
    try {
      target = this.target()
    } catch (error) {
      return this.failLater(error, false)
    }
    return target.scope.delete(strip(target, key)).then(undefined, this.failFalse)
  }

  /** Resolves to whether anything was removed; chunked by `maxBatchSize`. */
  async deleteMany(keys: string[]): Promise<boolean> {
    return this.guard(false, async () => {
      const target = this.target()
      let removed = 0
      for (const part of chunks(keys, this.maxBatchSize))
        removed += await target.scope.deleteMany(part.map((k) => strip(target, k)))
      return removed > 0
    })
  }

  /** Removes the current namespace's keys: its scope's own keys, never another namespace's or child scopes'. */
  async clear(): Promise<void> {
    await this.guard(undefined, async () => {
      await this.target().scope.clear()
    })
  }

  /**
   * Every live entry of the namespace in key order, as `[prefixedKey, storedValue]` (what keyv's iterator expects),
   * paged by key.
   */
  async *iterator(namespace?: string): AsyncGenerator<[string, unknown], void> {
    const ns = namespace ?? this.namespace
    const { scope, prefix } = this.scopeOf(ns)
    const entries = scope.entries({ pageSize: this.pageSize })
    while (true) {
      let next: IteratorResult<{ key: string; value: unknown }>
      try {
        next = await entries.next()
      } catch (error) {
        this.fail(error, undefined)
        return
      }
      if (next.done) return
      yield [prefix + next.value.key, next.value.value]
    }
  }

  /** Nothing to release: the cubby belongs to its owner, who closes it. */
  async disconnect(): Promise<void> {}

  /** The scope (and keyv key prefix) of the current namespace. */
  private target(): Target {
    return this.scopeOf(this.namespace)
  }

  /**
   * The namespace's scope, cached for as long as keyv keeps the same namespace (over an ambient store, taken per
   * call in the current context). Throws for a bad namespace, or outside `cubby.run()` over an ambient store.
   */
  private scopeOf(namespace: string | undefined): Target {
    const cached = this.cached
    if (cached && cached.namespace === namespace) return cached
    const target: Target = namespace
      ? { namespace, scope: this.scope.scope(namespace), prefix: `${namespace}:` }
      : { namespace, scope: this.scope, prefix: '' }
    if (!namespace || !this.ambient) this.cached = target
    return target
  }

  /** Runs `fn`; on failure emits `error`, then rethrows with `throwOnErrors`, else resolves to `failed`. */
  private async guard<T>(failed: T, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (error) {
      return this.fail(error, failed)
    }
  }

  /** `fail` for an error thrown before a Cubby call started: reported as a settled promise, never a sync throw. */
  private failLater<T>(error: unknown, failed: T): Promise<T> {
    return new Promise<T>((resolve) => resolve(this.fail(error, failed)))
  }

  /**
   * Emits `error` (with no listener at all, Node's EventEmitter throws it, so the call rejects); then rethrows with
   * `throwOnErrors`, else returns `failed`, keyv's "failed" value for the call.
   */
  private fail<T>(error: unknown, failed: T): T {
    this.emit('error', error)
    if (this.throwOnErrors) throw error
    return failed
  }
}

/** A namespace's scope and the `namespace:` prefix keyv puts on its keys (`''` without a namespace). */
interface Target {
  namespace: string | undefined
  scope: KVStore
  prefix: string
}

/** keyv prefixes keys with `namespace:`; the namespace is the scope here, so the prefix goes. */
function strip(target: Target, key: string): string {
  const { prefix } = target
  return prefix !== '' && typeof key === 'string' && key.startsWith(prefix) ? key.slice(prefix.length) : key
}

/** `set`'s result once the write is acknowledged. */
function written(): boolean {
  return true
}

/** Checks an integer option >= 1, or throws `InvalidConfigError` naming it. */
function positive(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new InvalidConfigError(`KeyvCubby ${field}`, `must be an integer >= 1, got ${String(value)}`)
  }
  return value
}
