import type { IncomingHttpHeaders } from 'node:http'

/**
 * The plugin interface of the example host. A plugin is an id and a table of routes; its handlers use only the
 * ambient `store` and `user` exported by `@cubby/core`, which the host binds to the plugin (and the calling user)
 * for the duration of each request.
 */
export interface Plugin {
  /** URL prefix and storage name (`/todos`, scope `[workspace, 'todos']`). Stable: data is keyed by it. */
  id: string
  /** One line for the index page. */
  description: string
  /** `'METHOD /path'` -> handler. Paths are relative to `/<id>`; `:name` segments become `params.name`. */
  routes: Record<string, Handler>
}

/** Handles one request inside `cubby.run({ workspace, plugin, user })`. */
export type Handler = (request: PluginRequest) => Reply | Promise<Reply>

/** What a handler sees of the HTTP request. */
export interface PluginRequest {
  method: string
  /** The path below the plugin's prefix, e.g. `/photo.png`. */
  path: string
  /** `:name` segments of the route, percent-decoded. */
  params: Record<string, string>
  query: URLSearchParams
  headers: IncomingHttpHeaders
  /** The user named by the `x-user` header (UTF-8), if any (the ambient `user` store is bound to it). */
  user: string | undefined
  /** Aborted when the client goes away or the host shuts down. */
  signal: AbortSignal
  /** The raw body (at most the host's `maxBodyBytes`, else 413; 503 while too many uploads are being read). */
  body(): Promise<Buffer>
  /** The body parsed as JSON (400 when it is not). */
  json(): Promise<unknown>
}

/**
 * A reply: JSON, raw bytes (with their content type and optional extra headers, e.g. `content-disposition`), a
 * Server-Sent Events stream, or an empty 204.
 */
export type Reply =
  | { status?: number; json: unknown }
  | { status?: number; body: Uint8Array | string; type: string; headers?: Record<string, string> }
  | { events: AsyncIterable<ServerEvent> }
  | { status: 204 }

/** One Server-Sent Event: `data` is sent as JSON. */
export interface ServerEvent {
  event?: string
  id?: string
  data: unknown
}

/** An error with an HTTP status; the host replies `{ error: { code, message } }`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

/** A 400 for a bad input field. */
export function badRequest(message: string): HttpError {
  return new HttpError(400, 'BAD_REQUEST', message)
}

/** A 404 for a missing item. */
export function notFound(message: string): HttpError {
  return new HttpError(404, 'NOT_FOUND', message)
}
