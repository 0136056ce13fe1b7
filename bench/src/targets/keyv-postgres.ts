import KeyvPostgres from '@keyv/postgres'
import Keyv from 'keyv'
import type { Target } from './target.js'

/** keyv@5 with @keyv/postgres: what users would otherwise pick on PostgreSQL. */
export async function keyvPostgresTarget(url: string): Promise<Target> {
  const keyv = new Keyv({ store: new KeyvPostgres({ uri: url, table: 'keyv_bench' }), namespace: 'bench' })
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
