import { InvalidConfigError } from '@cubby/core/backend'
import type { Connection } from './connection.js'

const warned = new Set<string>()

/**
 * Checks at open what Cubby needs from the server: Redis >= 7 (sharded pub/sub, `SET … PXAT`, `ZADD … LT`), else an
 * `InvalidConfigError`; and `maxmemory-policy noeviction`, else a process warning — an evicted version counter or
 * index silently breaks versions, listing and usage. (Servers that refuse `CONFIG GET`, as some managed services
 * do, are taken on trust.) Also proves that the credentials work: a server that wants a password fails here.
 */
export async function checkServer(connection: Connection, where: string): Promise<void> {
  const infos = (await connection.everyMaster(['INFO', 'server'])).map(String)
  for (const info of infos) {
    const version = /redis_version:(\d+)\.(\d+)/.exec(info)
    if (version && Number(version[1]) < 7) {
      throw new InvalidConfigError(
        'url',
        `Redis at ${where} is version ${version[1]}.${version[2]}; Cubby needs Redis >= 7 (sharded pub/sub, SET … PXAT, ` +
          'ZADD … LT): upgrade the server',
      )
    }
  }
  let policies: string[]
  try {
    policies = (await connection.everyMaster(['CONFIG', 'GET', 'maxmemory-policy'])).map((reply) =>
      String((reply as unknown[])[1] ?? ''),
    )
  } catch {
    return
  }
  for (const policy of new Set(policies)) {
    if (policy === '' || policy === 'noeviction' || warned.has(`${where} ${policy}`)) continue
    warned.add(`${where} ${policy}`)
    process.emitWarning(
      `Redis at ${where} has maxmemory-policy ${policy}: it may evict Cubby's version counters and indexes, which ` +
        'breaks versions, listing and usage. Set maxmemory-policy noeviction (writes then fail with BACKEND when ' +
        'memory is full).',
      { code: 'CUBBY_REDIS_EVICTION' },
    )
  }
}
