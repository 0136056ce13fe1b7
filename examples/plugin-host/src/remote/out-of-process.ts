import { randomBytes } from 'node:crypto'
import { Worker } from 'node:worker_threads'
import { type Cubby, CubbyError, currentContext } from '@cubby/core'
import { type CubbyServer, createCubbyServer, Keyring, mintToken } from '@cubby/server'
import { HttpError, type Plugin } from '../plugin.js'
import type { Call, Outcome } from './messages.js'

/** A `@cubby/server` on the host's cubby, on a loopback port, with a fresh signing key. */
export interface PluginServer {
  url: string
  keys: Keyring
  server: CubbyServer
}

/** Serves `cubby` to out-of-process plugins on 127.0.0.1 (a free port). */
export async function startPluginServer(cubby: Cubby): Promise<PluginServer> {
  const keys = new Keyring({ keys: [{ kid: 'host', secret: randomBytes(32) }] })
  const server = createCubbyServer({ cubby, keys })
  const { port } = await server.listen(0)
  return { url: `cubby+ws://127.0.0.1:${port}`, keys, server }
}

/** Options of `outOfProcess`. */
export interface OutOfProcessOptions {
  /** The plugin id the host routes and scopes it by. */
  id: string
  description: string
  /** The route keys of the plugin (its handlers live in the worker). */
  routes: readonly string[]
  /** The built module exporting the plugin, and the export's name. */
  module: URL
  exportName: string
  /** The built worker entry. @default ./worker.js next to this file */
  worker?: URL
  server: PluginServer
}

/**
 * A plugin whose handlers run in a worker thread. Each request gets a token for its own context
 * `{ workspace, plugin, user }` (read/write, 1 minute), so the worker can reach nothing else.
 */
export function outOfProcess(options: OutOfProcessOptions): Plugin & { close(): Promise<number> } {
  const worker = new Worker(options.worker ?? new URL('./worker.js', import.meta.url), {
    workerData: { url: options.server.url, module: options.module.href, exportName: options.exportName },
  })
  const waiting = new Map<number, (outcome: Outcome) => void>()
  let next = 1
  worker.on('message', (message: Outcome | { ready: true }) => {
    if ('id' in message) waiting.get(message.id)?.(message)
  })
  worker.unref()
  const routes: Plugin['routes'] = {}
  for (const route of options.routes) {
    routes[route] = async (request) => {
      const context = currentContext()!
      const token = await mintToken({ ...context, access: ['read', 'write'], expiresIn: 60_000 }, options.server.keys)
      const id = next++
      const call: Call = {
        id,
        token,
        route,
        method: request.method,
        path: request.path,
        params: request.params,
        query: request.query.toString(),
        headers: request.headers,
        user: request.user,
        body: route.startsWith('GET') ? new Uint8Array() : await request.body(),
      }
      const outcome = await new Promise<Outcome>((resolve) => {
        waiting.set(id, resolve)
        worker.postMessage(call)
      })
      waiting.delete(id)
      if ('reply' in outcome) return outcome.reply
      const { status, code, message } = outcome.error
      if (status !== undefined) throw new HttpError(status, code, message)
      throw new CubbyError(code as CubbyError['code'], message)
    }
  }
  return { id: options.id, description: options.description, routes, close: () => worker.terminate() }
}
