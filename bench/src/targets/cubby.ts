import { type Cubby, openCubby } from '@cubby/core'
import type { Target } from './target.js'

/** Cubby on any backend URL, through the public API. */
export async function cubbyTarget(url: string, options: Record<string, unknown> = {}): Promise<Target> {
  const cubby: Cubby = await openCubby({ url, ...options })
  const store = cubby.scope('bench', 'plugin')
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
