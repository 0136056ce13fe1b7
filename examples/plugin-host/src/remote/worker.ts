/**
 * The out-of-process side: a worker thread that runs one sample plugin, unchanged, against `@cubby/backend-remote`.
 * Per request it opens a cubby with the request's token (all share one WebSocket) and runs the plugin's handler in
 * the token's context, so the plugin's ambient `store` / `user` reach exactly that plugin's (and user's) data.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { tokenContext } from '@cubby/backend-remote'
import { CubbyError, openCubby } from '@cubby/core'
import { HttpError, type Plugin, type PluginRequest } from '../plugin.js'
import type { Call, Outcome } from './messages.js'

const { url, module, exportName } = workerData as { url: string; module: string; exportName: string }
const plugin = (await import(module))[exportName] as Plugin

parentPort!.on('message', async (call: Call) => {
  let outcome: Outcome
  try {
    const cubby = await openCubby({ url, token: call.token, timeoutMs: 5000 })
    try {
      const body = Buffer.from(call.body)
      const request: PluginRequest = {
        method: call.method,
        path: call.path,
        params: call.params,
        query: new URLSearchParams(call.query),
        headers: call.headers,
        user: call.user,
        signal: new AbortController().signal,
        body: async () => body,
        json: async () => JSON.parse(body.toString('utf8')),
      }
      const reply = await cubby.run(tokenContext(call.token), () => plugin.routes[call.route]!(request))
      outcome = { id: call.id, reply: reply as Extract<Outcome, { reply: unknown }>['reply'] }
    } finally {
      await cubby.close()
    }
  } catch (error) {
    const status = error instanceof HttpError ? error.status : undefined
    const code = error instanceof HttpError ? error.code : error instanceof CubbyError ? error.code : 'INTERNAL'
    outcome = { id: call.id, error: { status, code, message: (error as Error).message } }
  }
  parentPort!.postMessage(outcome)
})
parentPort!.postMessage({ ready: true })
