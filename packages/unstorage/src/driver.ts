import type { KVStore } from '@cubby/core'
import { DEFAULT_LIMITS, InvalidConfigError } from '@cubby/core'
import type { Driver, GetKeysOptions, StorageMeta, TransactionOptions, WatchCallback } from 'unstorage'
import { startWatch, type WatchErrorHandler } from './watch.js'

/** Options of `cubbyDriver`. */
export interface CubbyDriverOptions {
  /** The Cubby scope the driver stores in; unstorage keys (`a:b:c`) are its keys, unchanged. */
  scope: KVStore
  /**
   * Default TTL in seconds for `setItem` / `setItemRaw` without a `ttl` option. Seconds, like unstorage's redis
   * driver (lru-cache counts milliseconds; this driver does not). @default no expiry
   */
  ttl?: number
  /** Keys per `deleteMany` when `clear(base)` removes a prefix. @default 10000 (`DEFAULT_LIMITS.maxBatchSize`) */
  maxBatchSize?: number
  /**
   * Called when a watch ends with an error (the backend failed, or events overflowed a slow consumer and some were
   * lost); the driver then watches again after a short, growing pause. @default emits a process warning
   */
  onWatchError?: WatchErrorHandler
}

/** The driver, with the Cubby scope as its instance. */
export type CubbyDriver = Driver<CubbyDriverOptions, KVStore>

/**
 * An unstorage driver over a Cubby scope: `createStorage({ driver: cubbyDriver({ scope: cubby.scope('app') }) })`.
 * Strings from `setItem` and bytes from `setItemRaw` are stored as they are (bytes raw). TTLs are in seconds.
 */
export function cubbyDriver(options: CubbyDriverOptions): CubbyDriver {
  const { scope } = options
  const defaultTtl = options.ttl === undefined ? undefined : seconds('ttl', options.ttl)
  const maxBatchSize = options.maxBatchSize ?? DEFAULT_LIMITS.maxBatchSize
  if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1) {
    throw new InvalidConfigError('cubbyDriver maxBatchSize', `must be an integer >= 1, got ${String(maxBatchSize)}`)
  }
  const watches = new Set<() => Promise<void>>()
  const ttlOf = (opts?: TransactionOptions) => {
    const ttl = opts?.ttl === undefined ? defaultTtl : seconds('ttl', opts.ttl)
    return ttl === undefined ? undefined : { ttl: ttl * 1000 }
  }

  return {
    name: 'cubby',
    flags: { ttl: true },
    options,
    getInstance: () => scope,
    hasItem: (key) => scope.has(key),
    getItem: async (key) => (await scope.get(key)) ?? null,
    getItemRaw: async (key) => (await scope.get(key)) ?? null,
    setItem: async (key, value, opts) => {
      await scope.set(key, value, ttlOf(opts))
    },
    setItemRaw: async (key, value, opts) => {
      await scope.set(key, value, ttlOf(opts))
    },
    removeItem: async (key) => {
      await scope.delete(key)
    },
    getMeta: async (key) => {
      const entry = await scope.list({ start: key, end: `${key}\0`, limit: 1, values: false })
      const info = entry.entries[0]
      if (!info) return null
      const meta: StorageMeta = {}
      if (info.expiresAt !== undefined) {
        meta.ttl = Math.max(0, Math.ceil((info.expiresAt - Date.now()) / 1000))
        meta.expires = new Date(info.expiresAt)
      }
      return meta
    },
    getKeys: async (base: string, _opts: GetKeysOptions) => {
      const keys: string[] = []
      for await (const key of scope.keys(base ? { prefix: base, pageSize: 1000 } : { pageSize: 1000 })) keys.push(key)
      return keys
    },
    clear: async (base) => {
      if (!base) {
        await scope.clear()
        return
      }
      // Page by key through the prefix and delete each page: bounded memory, never another prefix's keys.
      let batch: string[] = []
      for await (const key of scope.keys({ prefix: base, pageSize: 1000 })) {
        batch.push(key)
        if (batch.length === maxBatchSize) {
          await scope.deleteMany(batch)
          batch = []
        }
      }
      if (batch.length > 0) await scope.deleteMany(batch)
    },
    watch: async (callback: WatchCallback) => {
      const stop = await startWatch(scope, callback, options.onWatchError)
      const unwatch = async () => {
        watches.delete(unwatch)
        await stop()
      }
      watches.add(unwatch)
      return unwatch
    },
    dispose: async () => {
      await Promise.all([...watches].map((unwatch) => unwatch()))
    },
  }
}

/** Checks a TTL in seconds (a positive finite number), or throws `InvalidConfigError` naming it. */
function seconds(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidConfigError(field, `must be a positive number of seconds, got ${String(value)}`)
  }
  return value
}
