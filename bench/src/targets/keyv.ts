import { openCubby } from '@cubby/core'
import { KeyvCubby } from '@cubby/keyv'
import Keyv from 'keyv'
// @keyv/sqlite and @keyv/redis build or pull what only the bench needs: they live in .extras (see
// scripts/extra-deps.json), installed by `npm run bench` through scripts/ensure-extras.mjs.
import { importExtra } from '../../../scripts/extras.mjs'
import type { Target } from './target.js'

/** keyv@5 on a store adapter: what users would otherwise pick. */
export function keyvTarget(keyv: Keyv, name = 'keyv', close = () => keyv.disconnect()): Target {
  return {
    name,
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
    close,
  }
}

/** keyv with @keyv/sqlite on a file. */
export async function keyvSqliteTarget(file: string): Promise<Target> {
  const { default: KeyvSqlite } = await importExtra('@keyv/sqlite')
  return keyvTarget(new Keyv({ store: new KeyvSqlite({ uri: `sqlite://${file}` }), namespace: 'bench' }))
}

/** keyv with @keyv/redis. */
export async function keyvRedisTarget(url: string): Promise<Target> {
  const { default: KeyvRedis } = await importExtra('@keyv/redis')
  return keyvTarget(new Keyv({ store: new KeyvRedis(url), namespace: 'bench' }))
}

/** keyv with its default in-memory Map store. */
export async function keyvMemoryTarget(): Promise<Target> {
  return keyvTarget(new Keyv({ namespace: 'bench' }))
}

/** keyv over @cubby/keyv on a Cubby backend URL: what a keyv user gets by switching the store. */
export async function keyvCubbyTarget(url: string, options: Record<string, unknown> = {}): Promise<Target> {
  const cubby = await openCubby({ url, ...options })
  const store = new KeyvCubby(cubby.scope('bench', 'keyv'), { maxBatchSize: cubby.limits.maxBatchSize })
  const keyv = new Keyv({ store, namespace: 'bench' })
  keyv.on('error', (error) => {
    throw error
  })
  return keyvTarget(keyv, 'keyv on cubby', () => cubby.close())
}
