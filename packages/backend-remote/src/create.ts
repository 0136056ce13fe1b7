import { type Backend, type BackendInit, InvalidConfigError } from '@cubby/core/backend'
import { acquire, release } from './pool.js'
import { RemoteBackend } from './remote-backend.js'
import { Op, readSessionInfo } from './wire/protocol.js'

/** Backend options of `openCubby({ url: 'cubby+ws://…', … })`. */
export interface RemoteOptions {
  /** The token from the host's `mintToken()`. @default process.env.CUBBY_TOKEN */
  token?: string
}

/**
 * The WebSocket URL for a `cubby+ws://host:port/path` (or `cubby+wss://`) URL, or `InvalidConfigError('url')`.
 */
export function socketUrl(url: string): string {
  const match = /^cubby\+(wss?):\/\/(.+)$/i.exec(url)
  if (!match) {
    throw new InvalidConfigError('url', `${JSON.stringify(url)} is not a cubby+ws://HOST:PORT/PATH or cubby+wss:// URL`)
  }
  let parsed: URL
  try {
    parsed = new URL(`${match[1]!.toLowerCase()}://${match[2]}`)
  } catch {
    throw new InvalidConfigError('url', `${JSON.stringify(url)} is not a valid URL`)
  }
  if (!parsed.hostname) throw new InvalidConfigError('url', `${JSON.stringify(url)} has no host`)
  return parsed.toString()
}

/**
 * Opens a session on a `@cubby/server` (the backend package's `createBackend`): connects (sharing one socket per
 * URL in this process), authenticates the token and reads the server's capabilities. Rejects with
 * `UnauthorizedError` for a token the server refuses, `BackendError` when the server cannot be reached.
 */
export async function createBackend(init: BackendInit): Promise<Backend> {
  if (init.url === undefined) throw new InvalidConfigError('url', 'a cubby+ws:// URL is required')
  const url = socketUrl(init.url)
  for (const name of Object.keys(init.options)) {
    if (name !== 'token') throw new InvalidConfigError(name, 'is not an option of the remote backend (known: token)')
  }
  const token = init.options.token ?? process.env.CUBBY_TOKEN
  if (typeof token !== 'string' || token === '') {
    throw new InvalidConfigError('token', 'is required: pass { token } to openCubby or set CUBBY_TOKEN')
  }
  const connection = acquire(url, init.timeoutMs)
  let session: number | undefined
  try {
    // The socket refuses a server of another protocol version (its HELLO), on every (re)connection.
    const hello = await connection.ready()
    session = connection.addSession(token)
    const reader = await connection.request(session, Op.AUTH, (w) => w.str(token), false)
    return new RemoteBackend(connection, session, hello, readSessionInfo(reader))
  } catch (error) {
    if (session !== undefined) connection.removeSession(session)
    release(connection)
    throw error
  }
}
