import { store } from '@cubby/core'
import { badRequest, notFound, type Plugin } from '../plugin.js'

/** TTL when none is given, and the longest accepted. */
const DEFAULT_TTL_MS = 60_000
const MAX_TTL_MS = 7 * 24 * 3_600_000

/**
 * A cache with TTL in the shared `store`: `PUT /cache/:key?ttl=ms` stores any JSON value that then expires on its
 * own (an expired entry is absent at once, whatever the backend's sweep does). `GET` answers 404 after expiry.
 */
export const cache: Plugin = {
  id: 'cache',
  description: 'a shared cache whose entries expire (TTL)',
  routes: {
    'PUT /:key': async (request) => {
      const ttl = readTtl(request.query.get('ttl'))
      const value = await request.json()
      await store.set(request.params.key!, value, { ttl })
      return { json: { key: request.params.key, ttl, expiresAt: Date.now() + ttl } }
    },
    'GET /:key': async ({ params }) => {
      const entry = await store.getEntry(params.key!)
      if (!entry) throw notFound(`${JSON.stringify(params.key)} is not cached (or has expired)`)
      const ttlLeft = entry.expiresAt === undefined ? null : Math.max(0, entry.expiresAt - Date.now())
      return { json: { key: entry.key, value: entry.value, expiresAt: entry.expiresAt ?? null, ttlLeft } }
    },
    'HEAD /:key': async ({ params }) => {
      if (!(await store.has(params.key!))) throw notFound(`${JSON.stringify(params.key)} is not cached`)
      return { status: 204 }
    },
    'DELETE /:key': async ({ params }) => ({ json: { deleted: await store.delete(params.key!) } }),
  },
}

function readTtl(param: string | null): number {
  if (param === null) return DEFAULT_TTL_MS
  const ttl = Number(param)
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL_MS) {
    throw badRequest(`ttl must be an integer of milliseconds between 1 and ${MAX_TTL_MS}`)
  }
  return ttl
}
