import { type Cubby, type KVStore, openCubby } from '@cubby/core'
import type { Target } from './target.js'

/** Cubby on any backend URL, through the public API. */
export async function cubbyTarget(url: string, options: Record<string, unknown> = {}): Promise<Target> {
  const cubby: Cubby = await openCubby({ url, ...options })
  return storeTarget(cubby, cubby.scope('bench', 'plugin'))
}

/** The bench workloads on one store of an open cubby; closing the target closes the cubby. */
export function storeTarget(cubby: Cubby, store: KVStore): Target {
  return {
    name: 'cubby',
    set: async (key, value) => {
      await store.set(key, value)
    },
    get: (key) => store.get(key),
    setMany: (entries) => store.setMany(entries),
    getMany: (keys) => store.getMany(keys),
    listAll: async (pageSize) => {
      let count = 0
      let cursor: string | undefined
      do {
        const page = await store.list({ limit: pageSize, cursor })
        count += page.entries.length
        cursor = page.cursor
      } while (cursor)
      return count
    },
    clear: async () => {
      await store.clear()
    },
    close: () => cubby.close(),
  }
}
