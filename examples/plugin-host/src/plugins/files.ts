import { store } from '@cubby/core'
import { badRequest, notFound, type Plugin } from '../plugin.js'
import { pageLimit } from './ids.js'

/** What is kept about a file besides its bytes. */
interface FileMeta {
  name: string
  type: string
  size: number
  uploadedBy: string | null
  uploadedAt: Date
}

const META = 'meta:'
const DATA = 'data:'

/**
 * A file drop (Dify-style): raw bytes in the plugin's shared `store`, served back with their length and type. The
 * bytes and their metadata are separate keys written and deleted together with `atomic()`, so a listing never
 * loads file contents and never shows a half-written file. Quotas apply: over the limit is 413. Files are served
 * back as attachments (`content-disposition`, `nosniff`), since their type is whatever the uploader claimed.
 */
export const files: Plugin = {
  id: 'files',
  description: 'a shared file drop storing raw bytes (atomic bytes + metadata, usage)',
  routes: {
    'GET /': async ({ query }) => {
      const page = await store.list<FileMeta>({
        prefix: META,
        limit: pageLimit(query),
        cursor: query.get('cursor') ?? undefined,
      })
      return {
        json: { files: page.entries.map((entry) => entry.value), cursor: page.cursor, usage: await store.usage() },
      }
    },
    'PUT /:name': async (request) => {
      const name = request.params.name!
      const bytes = await request.body()
      if (bytes.byteLength === 0) throw badRequest('the body is empty; send the file bytes (curl -T file URL)')
      const meta: FileMeta = {
        name,
        // No type, or an empty one, is served back as plain bytes (an empty content-type means nothing to a browser).
        type: request.headers['content-type'] || 'application/octet-stream',
        size: bytes.byteLength,
        uploadedBy: request.user ?? null,
        uploadedAt: new Date(),
      }
      await store
        .atomic()
        .set(DATA + name, bytes)
        .set(META + name, meta)
        .commit()
      return { status: 201, json: meta }
    },
    'GET /:name': async ({ params }) => {
      const [meta, bytes] = await store.getMany<FileMeta | Uint8Array>([META + params.name!, DATA + params.name!])
      if (!meta || !(bytes instanceof Uint8Array)) throw notFound(`no file ${JSON.stringify(params.name)}`)
      // The type is whatever the uploader sent: serve it as a download, never rendered on the host's origin.
      const disposition = `attachment; filename*=UTF-8''${encodeURIComponent(params.name!)}`
      return { body: bytes, type: (meta as FileMeta).type, headers: { 'content-disposition': disposition } }
    },
    'DELETE /:name': async ({ params }) => {
      const removed = await store.deleteMany([META + params.name!, DATA + params.name!])
      if (removed === 0) throw notFound(`no file ${JSON.stringify(params.name)}`)
      return { status: 204 }
    },
  },
}
