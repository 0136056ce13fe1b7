import { existsSync } from 'node:fs'
import { InvalidConfigError } from '@cubby/core'
import { importPeer } from './load.js'

/** One entry of a keyv store, decoded with keyv's own deserializer. */
export interface KeyvEntry {
  /** The key without keyv's `namespace:` prefix. */
  key: string
  value: unknown
  /** keyv's `expires` (epoch ms); absent when the key does not expire. */
  expiresAt?: number
}

/** An open keyv store, read through keyv and its own adapter. */
export interface KeyvSource {
  /** Every live entry of the namespace (expired ones are skipped and counted in `expired`). */
  entries(): AsyncGenerator<KeyvEntry>
  /** Entries skipped by the last `entries()` walk because keyv's `expires` had passed. */
  expired: number
  close(): Promise<void>
}

/** Options of `openKeyvSource`. */
export interface KeyvSourceOptions {
  /** keyv's namespace; `''` for a keyv without one. @default 'keyv' (keyv's default) */
  namespace: string
  /** Where keyv and its adapter are installed (the user's project). */
  modules: string
  /** @keyv/sqlite's table. @default 'keyv' */
  table?: string
}

/**
 * Opens a store written by keyv + @keyv/sqlite (`sqlite://PATH`) or keyv + @keyv/redis (`redis://…`, `rediss://…`),
 * with the adapter and keyv loaded from the user's project, so their own key layout and serialization apply.
 */
export async function openKeyvSource(url: string, options: KeyvSourceOptions): Promise<KeyvSource> {
  const namespace = options.namespace || undefined
  const { default: Keyv } = await importPeer('keyv', options.modules, 'keyv')
  // biome-ignore lint/suspicious/noExplicitAny: keyv adapters are untyped here (optional peers)
  let store: any
  if (/^sqlite:\/\//i.test(url)) {
    const file = url.replace(/^sqlite:\/\//i, '')
    // @keyv/sqlite would create a missing file: refuse it, so a typo never imports an empty store.
    if (!existsSync(file)) throw new InvalidConfigError('--from', `no keyv SQLite file at ${file}`)
    const { default: KeyvSqlite } = await importPeer('@keyv/sqlite', options.modules, '@keyv/sqlite keyv')
    store = new KeyvSqlite({ uri: url, table: options.table ?? 'keyv' })
  } else if (/^rediss?:\/\//i.test(url)) {
    const { default: KeyvRedis } = await importPeer('@keyv/redis', options.modules, '@keyv/redis keyv')
    store = new KeyvRedis(url, { namespace })
  } else {
    throw new InvalidConfigError('--from', `a keyv store URL is sqlite://PATH or redis://HOST:PORT, got ${url}`)
  }
  const failures: unknown[] = []
  store.on?.('error', (error: unknown) => failures.push(error))
  const keyv = new Keyv({ store, namespace })
  keyv.on('error', (error: unknown) => failures.push(error))
  const prefix = namespace ? `${namespace}:` : ''
  const source: KeyvSource = {
    expired: 0,
    async *entries() {
      source.expired = 0
      for await (const [rawKey, raw] of store.iterator(namespace)) {
        if (failures.length > 0) throw failures[0]
        // @keyv/sqlite selects with LIKE, where `_` and `%` in a namespace match other namespaces too.
        if (typeof rawKey !== 'string' || !rawKey.startsWith(prefix) || raw == null) continue
        const data = await keyv.deserializeData(raw)
        if (data === undefined || data === null) continue
        const expires = typeof data.expires === 'number' ? data.expires : undefined
        if (expires !== undefined && expires <= Date.now()) {
          source.expired++
          continue
        }
        const entry: KeyvEntry = { key: rawKey.slice(prefix.length), value: data.value }
        if (expires !== undefined) entry.expiresAt = expires
        yield entry
      }
      if (failures.length > 0) throw failures[0]
    },
    close: async () => {
      await store.disconnect?.()
    },
  }
  return source
}
