import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { type Cubby, DEFAULT_WORKSPACE } from '@cubby/core'
import { Admin } from './admin.js'
import { errorReply } from './http-errors.js'
import { badRequest, HttpError, type Plugin, type PluginRequest, type Reply } from './plugin.js'
import { BodyBudget, bodyReader, decodeSegment, isClientGone, utf8Body, utf8Header } from './request.js'
import { Router } from './router.js'
import { sendEvents } from './sse.js'

/** Options of `createHost`. */
export interface HostOptions {
  /** The open store every plugin's data lives in. */
  cubby: Cubby
  plugins: readonly Plugin[]
  /**
   * Largest request body accepted; larger ones get 413 before they are read in full.
   * @default the cubby's `limits.maxValueBytes` (4 MiB by default): a larger body could never be stored as a value
   */
  maxBodyBytes?: number
  /** Bytes that the bodies of all requests being read may hold together; past it, uploads get 503. @default 64 MiB */
  maxBufferedBodyBytes?: number
  /** A request body that sends no bytes for this long gets 408 and its connection closed. @default 10000 */
  bodyIdleTimeoutMs?: number
  /** Header naming the user (its value is read as UTF-8). @default 'x-user' */
  userHeader?: string
  /** Header naming the workspace (UTF-8). @default 'x-workspace' (absent = the `default` workspace) */
  workspaceHeader?: string
  /** Enables `/admin/*` (usage per plugin, deleting a user's data) for `authorization: Bearer <token>`. @default off */
  adminToken?: string
  /** Where unexpected errors are logged (clients that hang up mid-request are not). @default console.error */
  log?: (message: string, error: unknown) => void
}

/** A plugin host: an HTTP server plus a `close()` that ends open streams. */
export interface Host {
  server: Server
  /** Ends event streams, stops accepting requests and waits for open ones. Does not close the cubby. */
  close(): Promise<void>
}

/**
 * Creates the plugin host's HTTP server. Each request is routed to `/<plugin id>/…` and handled inside
 * `cubby.run({ workspace, plugin, user })`, so plugin code reaches its data only through the ambient `store` and
 * `user` of `@cubby/core`. Errors become JSON `{ error: { code, message } }` with a matching status.
 */
export function createHost(options: HostOptions): Host {
  const router = new Router(options.plugins)
  const admin = new Admin(
    options.cubby,
    options.plugins.map((plugin) => plugin.id),
    options.adminToken,
  )
  const maxBody = options.maxBodyBytes ?? options.cubby.limits.maxValueBytes
  const budget = new BodyBudget(options.maxBufferedBodyBytes ?? 64 * 1024 * 1024)
  const userHeader = options.userHeader ?? 'x-user'
  const bodyIdleMs = options.bodyIdleTimeoutMs ?? 10_000
  const workspaceHeader = options.workspaceHeader ?? 'x-workspace'
  const log = options.log ?? ((message, error) => console.error(message, error))
  const requests = new Set<AbortController>()
  let closing = false
  let drained = () => {}

  const server = createServer((req, res) => {
    // While shutting down, answer what is in flight but do not keep connections open for more.
    if (closing) res.setHeader('connection', 'close')
    const controller = new AbortController()
    requests.add(controller)
    // 'close' on the response fires when it is done or the client went away; either way the request is over.
    res.on('close', () => {
      controller.abort()
      requests.delete(controller)
      if (closing && requests.size === 0) drained()
    })
    handle(req, res, controller.signal).catch((error: unknown) => {
      log('plugin host: failed to answer a request', error)
      res.destroy()
    })
  })

  async function handle(req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://host')
    const method = req.method ?? 'GET'
    try {
      // HEAD is answered like GET; Node leaves out the body.
      const read = method === 'GET' || method === 'HEAD'
      if (read && (url.pathname === '/' || url.pathname === '')) {
        return sendJson(res, 200, { backend: options.cubby.backend.name, plugins: router.describe() })
      }
      if (read && url.pathname === '/health') return sendJson(res, 200, { ok: true })
      if (url.pathname.startsWith('/admin/')) return await handleAdmin(req, res, method, url.pathname)
      const match = router.match(method, url.pathname)
      if (match === 'method')
        throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${method} is not allowed on ${url.pathname}`)
      if (!match) throw new HttpError(404, 'NOT_FOUND', `no route ${method} ${url.pathname}; GET / lists them`)
      const user = utf8Header(req, userHeader)
      const workspace = utf8Header(req, workspaceHeader)
      const body = bodyReader(req, maxBody, budget, bodyIdleMs)
      const request: PluginRequest = {
        method,
        path: match.path,
        params: match.params,
        query: url.searchParams,
        headers: req.headers,
        user,
        signal,
        body,
        json: async () => {
          const text = utf8Body(await body())
          try {
            return JSON.parse(text) as unknown
          } catch {
            throw badRequest('the request body is not JSON')
          }
        },
      }
      const context = {
        plugin: match.plugin.id,
        ...(user === undefined ? {} : { user }),
        ...(workspace ? { workspace } : {}),
      }
      // The whole reply, event streams included, runs in the plugin's context.
      await options.cubby.run(context, async () => send(res, await match.handler(request), signal))
    } catch (error) {
      // A client that hung up (an aborted upload, a closed tab) is not an error of ours, and gets no reply.
      if (isClientGone(error, req)) return void res.destroy()
      const reply = errorReply(error, userHeader)
      if (!reply.expected) log(`plugin host: ${method} ${url.pathname} failed`, error)
      if (res.headersSent) return void res.destroy()
      // Replying before the body was read (e.g. 413): close the connection rather than drain an unwanted upload.
      if (!req.complete) res.setHeader('connection', 'close')
      sendJson(res, reply.status, reply.body)
    }
  }

  async function handleAdmin(req: IncomingMessage, res: ServerResponse, method: string, path: string): Promise<void> {
    admin.authorize(req)
    const workspace = utf8Header(req, workspaceHeader) ?? DEFAULT_WORKSPACE
    if (method === 'GET' && path === '/admin/usage') return sendJson(res, 200, await admin.usage(workspace))
    const user = /^\/admin\/users\/([^/]+)$/.exec(path)?.[1]
    if (method === 'DELETE' && user !== undefined) {
      return sendJson(res, 200, await admin.dropUser(workspace, decodeSegment(user)))
    }
    throw new HttpError(404, 'NOT_FOUND', 'admin routes: GET /admin/usage, DELETE /admin/users/:user')
  }

  async function send(res: ServerResponse, reply: Reply, signal: AbortSignal): Promise<void> {
    if ('events' in reply)
      return sendEvents(res, reply.events, signal, (error) => errorReply(error, userHeader).body.error)
    if ('json' in reply) return sendJson(res, reply.status ?? 200, reply.json)
    if ('body' in reply) {
      const bytes = typeof reply.body === 'string' ? Buffer.from(reply.body) : reply.body
      res.writeHead(reply.status ?? 200, {
        ...reply.headers,
        'content-type': reply.type,
        'content-length': bytes.byteLength,
        'x-content-type-options': 'nosniff',
      })
      res.end(bytes)
      return
    }
    res.writeHead(204).end()
  }

  return {
    server,
    close: async () => {
      closing = true
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      const idle = new Promise<void>((resolve) => {
        drained = resolve
      })
      for (const controller of requests) controller.abort()
      if (requests.size === 0) drained()
      server.closeIdleConnections()
      // Requests still running after a grace period (a slow upload, a stuck backend call) are cut off.
      const grace = setTimeout(() => drained(), 5000)
      await idle
      clearTimeout(grace)
      // What is left holds no request: keep-alive sockets and ones a client opened without sending anything yet
      // (closeIdleConnections leaves those), which would otherwise delay close() by seconds.
      server.closeAllConnections()
      await closed
    },
  }
}

function sendJson(res: ServerResponse, status: number, data: unknown): void {
  const text = JSON.stringify(data)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'x-content-type-options': 'nosniff',
  })
  res.end(text)
}
