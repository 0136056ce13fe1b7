import KeyvRedis from '@keyv/redis'
import KeyvSqlite from '@keyv/sqlite'
import Keyv from 'keyv'
import type { Target } from './target.js'

/** keyv@5 on a store adapter: what users would otherwise pick. */
function keyvTarget(keyv: Keyv): Target {
  return {
    name: 'keyv',
    set: async (key, value) => {
      await keyv.set(key, value)
    },
    get: (key) => keyv.get(key),
    setMany: async (entries) => {
      await keyv.setMany(entries.map(([key, value]) => ({ key, value })))
    },
    getMany: (keys) => keyv.getMany(keys),
    listAll: async () => {
      // keyv has no ordered, paged listing; its iterator is the closest thing it offers.
      let count = 0
      if (!keyv.iterator) throw new Error('this keyv store cannot iterate')
      for await (const _entry of keyv.iterator(undefined)) count++
      return count
    },
    clear: () => keyv.clear(),
    close: () => keyv.disconnect(),
  }
}

/** keyv with @keyv/sqlite on a file. */
export async function keyvSqliteTarget(file: string): Promise<Target> {
  return keyvTarget(new Keyv({ store: new KeyvSqlite({ uri: `sqlite://${file}` }), namespace: 'bench' }))
}

/** keyv with @keyv/redis. */
export async function keyvRedisTarget(url: string): Promise<Target> {
  return keyvTarget(new Keyv({ store: new KeyvRedis(url), namespace: 'bench' }))
}

/** keyv with its default in-memory Map store. */
export async function keyvMemoryTarget(): Promise<Target> {
  return keyvTarget(new Keyv({ namespace: 'bench' }))
}
