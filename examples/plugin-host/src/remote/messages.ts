import type { IncomingHttpHeaders } from 'node:http'
import type { Reply } from '../plugin.js'

/** One request, host -> worker. */
export interface Call {
  id: number
  /** Scope-bound token for this request's context. */
  token: string
  route: string
  method: string
  path: string
  params: Record<string, string>
  query: string
  headers: IncomingHttpHeaders
  user: string | undefined
  body: Uint8Array
}

/** Its outcome, worker -> host. */
export type Outcome =
  | { id: number; reply: Exclude<Reply, { events: unknown }> }
  | { id: number; error: { status: number | undefined; code: string; message: string } }
