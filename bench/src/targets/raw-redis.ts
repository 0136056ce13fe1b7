import { createClient } from 'redis'
import type { Target } from './target.js'

/**
 * The official `redis` client alone, values as JSON strings. Concurrent calls pipeline automatically; many-key
 * work uses MSET/MGET. Listing pages through a sorted-set index (built untimed, as a raw app would maintain one).
 */
export async function rawRedisTarget(url: string, prefix: string): Promise<Target> {
  const client = createClient({ url })
  await client.connect()
  const index = `${prefix}:index`
  const k = (key: string) => `${prefix}:${key}`
  const parse = (text: string | null) => (text === null ? undefined : JSON.parse(text))
  return {
    name: 'raw driver',
    set: async (key, value) => {
      await client.set(k(key), JSON.stringify(value))
    },
    get: async (key) => parse(await client.get(k(key))),
    setMany: async (entries) => {
      await client.mSet(entries.map(([key, value]) => [k(key), JSON.stringify(value)] as [string, string]))
    },
    getMany: async (keys) => (await client.mGet(keys.map(k))).map(parse),
    prepareList: async (keys) => {
      await client.zAdd(
        index,
        keys.map((key) => ({ score: 0, value: key })),
      )
    },
    listAll: async (pageSize) => {
      let count = 0
      let after = '-'
      for (;;) {
        const keys = await client.zRangeByLex(index, after, '+', { LIMIT: { offset: 0, count: pageSize } })
        if (keys.length > 0) for (const text of await client.mGet(keys.map(k))) parse(text)
        count += keys.length
        if (keys.length < pageSize) return count
        after = `(${keys[keys.length - 1]}`
      }
    },
    clear: async () => {
      // Only this target's keys: the benchmark server is throwaway, but stay in our own prefix anyway.
      const keys = await client.zRange(index, 0, -1)
      for (let i = 0; i < keys.length; i += 1000) await client.del(keys.slice(i, i + 1000).map(k))
      await client.del(index)
      let cursor = '0'
      do {
        const reply = await client.scan(cursor, { MATCH: `${prefix}:*`, COUNT: 1000 })
        cursor = String(reply.cursor)
        if (reply.keys.length) await client.del(reply.keys)
      } while (cursor !== '0')
    },
    close: async () => {
      await client.quit()
    },
  }
}
