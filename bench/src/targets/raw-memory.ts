import { Codec } from '@cubby/core'
import type { Target } from './target.js'

/** The memory baseline: a Map plus the same codec Cubby uses, behind async functions like any store. */
export async function mapTarget(): Promise<Target> {
  const codec = new Codec()
  const map = new Map<string, Uint8Array>()
  return {
    name: 'Map + codec',
    set: async (key, value) => {
      map.set(key, codec.encode(value))
    },
    get: async (key) => {
      const bytes = map.get(key)
      return bytes && codec.decode(bytes)
    },
    setMany: async (entries) => {
      for (const [key, value] of entries) map.set(key, codec.encode(value))
    },
    getMany: async (keys) =>
      keys.map((key) => {
        const bytes = map.get(key)
        return bytes && codec.decode(bytes)
      }),
    listAll: async (pageSize) => {
      const keys = [...map.keys()].sort()
      let count = 0
      for (let i = 0; i < keys.length; i += pageSize) {
        for (const key of keys.slice(i, i + pageSize)) codec.decode(map.get(key)!)
        count += Math.min(pageSize, keys.length - i)
      }
      return count
    },
    clear: async () => map.clear(),
    close: async () => {},
  }
}
