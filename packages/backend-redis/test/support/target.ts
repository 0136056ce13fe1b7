import type { ConformanceTarget } from '@cubby/conformance'
import { createClient, createCluster, RESP_TYPES } from 'redis'
import { entryKey, indexKey, scopeKeys } from '../../src/keys.js'
import { resolveOptions } from '../../src/options.js'
import { openTestBackend } from '../../src/testing/index.js'

let prefixes = 0

/**
 * Runs the conformance suite on a Redis URL: a fresh key prefix per test, a backdoor reading with its own client.
 * With `checkKeys`, the scripts fail on any key they touch without declaring it in KEYS.
 */
export function conformanceTarget(name: string, url: string, checkKeys = false): ConformanceTarget {
  return {
    name,
    create: async ({ clock }) => {
      const prefix = `t${process.pid}x${prefixes++}`
      const options = resolveOptions(url, { prefix, sweepIntervalMs: 100 })
      const open = () => openTestBackend(url, { prefix, sweepIntervalMs: 100 }, clock, 10_000, { checkKeys })
      const backend = await open()
      const typeMapping = { [RESP_TYPES.BLOB_STRING]: Buffer } as const
      const raw = options.cluster
        ? createCluster({ rootNodes: options.endpoints.map((socket) => ({ socket })) })
        : createClient({ socket: options.endpoints[0] })
      raw.on('error', () => {})
      await raw.connect()
      const send = (key: string, args: string[]) =>
        options.cluster
          ? (raw as ReturnType<typeof createCluster>).sendCommand(key, true, args, { typeMapping })
          : (raw as ReturnType<typeof createClient>).sendCommand(args, { typeMapping })
      return {
        backend,
        peer: open,
        backdoor: {
          read: async (scope, key) => {
            const name = entryKey(scopeKeys(prefix, scope), key)
            const entry = (await send(name, ['GET', name])) as unknown as Buffer | null
            if (!entry) return undefined
            const a = entry.indexOf(0x7c)
            const b = entry.indexOf(0x7c, a + 1)
            const value = entry.subarray(b + 1)
            return b > a + 1 ? { value, expiresAt: Number(entry.toString('latin1', a + 1, b)) } : { value }
          },
          count: async (scope) => {
            const name = indexKey(scopeKeys(prefix, scope))
            return Number(await send(name, ['ZCARD', name]))
          },
        },
        cleanup: async () => {
          await raw.close()
        },
      }
    },
  }
}
