import { BackendError, type CubbyError, ValueTooLargeError } from '@cubby/core/backend'
import WebSocket from 'ws'
import type { WatchHandler } from './watch-client.js'
import { FrameReader, FrameWriter } from './wire/buffer.js'
import { sendCorked } from './wire/cork.js'
import { fromWireError, readError } from './wire/errors.js'
import { type Hello, Kind, Op, readHello, SUBPROTOCOL } from './wire/protocol.js'

/** Options of a connection. */
export interface ConnectionOptions {
  /** The server's WebSocket URL (`ws://` or `wss://`). */
  url: string
  /** A call (connecting included) that takes longer fails with `BackendError`. */
  timeoutMs: number
}

/** A request waiting for its answer. */
interface Pending {
  deadline: number
  /** Whether the request changes data (its outcome is unknown when the connection drops after sending). */
  write: boolean
  /** Whether the frame reached the socket. */
  sent: boolean
  frame: Uint8Array
  resolve: (reader: FrameReader) => void
  reject: (error: Error) => void
}

/** A session (one token) to authenticate on every (re)connection, before its requests. */
export interface SessionRecord {
  token: string
}

/**
 * One multiplexed WebSocket to a server, shared by every backend (session) of the same URL in this process. It
 * connects on demand, answers each call by request id, bounds every call by `timeoutMs`, keeps at most the
 * server's `maxInFlight` requests outstanding (queueing the rest), re-authenticates sessions and resumes watches
 * after a reconnect.
 */
export class Connection {
  private socket: WebSocket | undefined
  private connecting: Promise<void> | undefined
  private hello: Hello | undefined
  private nextId = 1
  private readonly pending = new Map<number, Pending>()
  /** Requests not yet sent (waiting for a connection or an in-flight slot), in order. */
  private readonly queue: number[] = []
  /** Requests sent and not answered, including ones whose caller already timed out. */
  private inFlight = 0
  private readonly sessions = new Map<number, SessionRecord>()
  private readonly watches = new Map<number, WatchHandler>()
  private nextSession = 1
  private ticker: NodeJS.Timeout | undefined
  private reconnectTimer: NodeJS.Timeout | undefined
  private reconnectDelay = 50
  private closed = false
  /** Users of this connection (backends); it closes when the last one releases it. */
  refs = 0

  constructor(readonly options: ConnectionOptions) {}

  /** The server's greeting, once connected. */
  get serverHello(): Hello | undefined {
    return this.hello
  }

  /** Connects (if needed) and resolves with the server's greeting; bounded by `timeoutMs`. */
  async ready(): Promise<Hello> {
    await this.connect()
    return this.hello!
  }

  /** Registers a session; it is authenticated with AUTH on this and every later socket. */
  addSession(token: string): number {
    const id = this.nextSession++
    this.sessions.set(id, { token })
    return id
  }

  /** Forgets a session and tells the server (best effort: the server drops sessions with the socket anyway). */
  removeSession(session: number): void {
    if (!this.sessions.delete(session)) return
    if (this.socket?.readyState === WebSocket.OPEN) {
      this.request(session, Op.RELEASE, () => {}, false).catch(() => {})
    }
  }

  /** Registers a watch under `handle` so that events and its end reach it. */
  addWatch(handle: number, watch: WatchHandler): void {
    this.watches.set(handle, watch)
  }

  /** Moves a watch to a new handle (after RESUME). */
  moveWatch(from: number, to: number): void {
    const watch = this.watches.get(from)
    if (!watch) return
    this.watches.delete(from)
    this.watches.set(to, watch)
  }

  /** Forgets a watch. */
  removeWatch(handle: number): void {
    this.watches.delete(handle)
  }

  /** The id the next request will get (a watch uses its request id as its handle). */
  peekId(): number {
    return this.nextId
  }

  /**
   * Sends a request and resolves with a reader over its result body. `write` marks requests that change data, whose
   * outcome is unknown when the connection drops after they were sent (the error says so).
   */
  request(session: number, op: number, body: (w: FrameWriter) => void, write: boolean): Promise<FrameReader> {
    if (this.closed) return Promise.reject(new BackendError('the remote connection is closed'))
    const id = this.takeId()
    const w = new FrameWriter()
    w.u8(op).u32(id).u32(session)
    body(w)
    const frame = w.finish()
    const limit = this.hello?.maxFrameBytes
    if (limit !== undefined && frame.byteLength > limit) {
      const error = new ValueTooLargeError('(request)', frame.byteLength, limit)
      error.message =
        `this request is ${frame.byteLength} bytes on the wire, over the server's maxFrameBytes of ${limit}; ` +
        'write fewer or smaller values per batch, or raise maxFrameBytes on the server'
      return Promise.reject(error)
    }
    return new Promise<FrameReader>((resolve, reject) => {
      this.pending.set(id, {
        deadline: Date.now() + this.options.timeoutMs,
        write,
        sent: false,
        frame,
        resolve,
        reject,
      })
      this.queue.push(id)
      this.startTicker()
      if (this.socket?.readyState === WebSocket.OPEN) this.flush()
      else this.connect().catch(() => {}) // failures reach the queued requests through failAll()
    })
  }

  /** Releases the connection: fails what is pending, closes the socket. */
  close(): void {
    if (this.closed) return
    this.closed = true
    clearTimeout(this.reconnectTimer)
    this.failAll(new BackendError('the remote connection was closed'))
    for (const watch of this.watches.values()) watch.end(new BackendError('the remote connection was closed'))
    this.watches.clear()
    this.socket?.terminate()
    this.socket = undefined
    this.stopTicker()
  }

  private takeId(): number {
    const id = this.nextId
    this.nextId = this.nextId >= 0xffff_fff0 ? 1 : this.nextId + 1
    return id
  }

  /** Opens a socket unless one is open or opening; settles when it is open (HELLO received) or failed. */
  private connect(): Promise<void> {
    if (this.closed) return Promise.reject(new BackendError('the remote connection is closed'))
    if (this.socket?.readyState === WebSocket.OPEN && this.hello) return Promise.resolve()
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined
    })
    return this.connecting
  }

  private open(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timeoutMs = this.options.timeoutMs
      let settled = false
      const socket = new WebSocket(this.options.url, SUBPROTOCOL, {
        perMessageDeflate: false,
        handshakeTimeout: timeoutMs,
        maxPayload: 0x7fff_ffff,
      })
      socket.binaryType = 'nodebuffer'
      const fail = (error: CubbyError) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        socket.terminate()
        this.failAll(error)
        this.scheduleReconnect()
        reject(error)
      }
      const timer = setTimeout(
        () =>
          fail(new BackendError(`the server at ${this.options.url} did not answer within ${timeoutMs} ms (timeoutMs)`)),
        timeoutMs,
      )
      socket.on('error', (error) =>
        fail(new BackendError(`cannot reach the server at ${this.options.url}: ${error.message}`, { cause: error })),
      )
      socket.on('close', () => {
        if (!settled) fail(new BackendError(`the server at ${this.options.url} closed the connection while opening`))
        else if (this.socket === socket) this.lost()
      })
      socket.on('message', (data: Buffer) => {
        if (!settled) {
          try {
            const r = new FrameReader(data)
            if (r.u8() !== Kind.HELLO) throw new Error('expected HELLO')
            r.u32()
            this.hello = readHello(r)
          } catch (error) {
            fail(
              new BackendError(
                `the server at ${this.options.url} did not greet with HELLO: ${(error as Error).message}`,
              ),
            )
            return
          }
          settled = true
          clearTimeout(timer)
          this.socket = socket
          this.reconnectDelay = 50
          this.reauthenticate()
          this.flush()
          resolve()
          return
        }
        this.receive(data)
      })
    })
  }

  /** After a reconnect: AUTH every session and RESUME every watch, ahead of queued requests. */
  private reauthenticate(): void {
    const socket = this.socket!
    for (const [session, record] of this.sessions) {
      const w = new FrameWriter()
      w.u8(Op.AUTH).u32(this.takeId()).u32(session).str(record.token)
      // Its answer is ignored: a refused token fails the session's own requests with UNAUTHORIZED.
      socket.send(w.finish())
    }
    for (const [handle, watch] of [...this.watches]) watch.resume(handle)
  }

  /** Sends queued requests while in-flight slots are free. */
  private flush(): void {
    const socket = this.socket
    if (!socket || socket.readyState !== WebSocket.OPEN) return
    const max = this.hello?.maxInFlight ?? 1
    while (this.queue.length > 0 && this.inFlight < max) {
      const id = this.queue.shift()!
      const entry = this.pending.get(id)
      if (!entry || entry.sent) continue
      entry.sent = true
      this.inFlight++
      sendCorked(socket, entry.frame)
    }
  }

  private receive(data: Buffer): void {
    let kind: number
    let id: number
    let r: FrameReader
    try {
      r = new FrameReader(data)
      kind = r.u8()
      id = r.u32()
    } catch {
      return // a frame too short to name a request cannot be routed; the request times out
    }
    if (kind === Kind.EVENT || kind === Kind.WATCH_END) {
      this.watches.get(id)?.frame(kind, r)
      return
    }
    const entry = this.pending.get(id)
    if (kind === Kind.RESULT || kind === Kind.ERROR) {
      if (this.inFlight > 0) this.inFlight--
      this.flush()
    }
    if (!entry) return
    this.pending.delete(id)
    if (kind === Kind.RESULT) entry.resolve(r)
    else if (kind === Kind.ERROR) {
      try {
        entry.reject(fromWireError(readError(r), (scope) => scope))
      } catch (error) {
        entry.reject(new BackendError(`unreadable error from the server: ${(error as Error).message}`))
      }
    }
  }

  /** The socket closed after it was open: fail what was sent, keep what was not for the next socket. */
  private lost(): void {
    this.socket = undefined
    this.inFlight = 0
    for (const [id, entry] of this.pending) {
      if (!entry.sent) continue
      this.pending.delete(id)
      entry.reject(
        new BackendError(
          entry.write
            ? `the connection to ${this.options.url} was lost after this write was sent: its outcome is unknown; ` +
                'read the keys before retrying'
            : `the connection to ${this.options.url} was lost before the server answered; retry the call`,
        ),
      )
    }
    for (const watch of this.watches.values()) watch.disconnected()
    if (this.queue.length > 0) this.connect().catch(() => {})
    // Also when requests wait: a connect() that joined an opening already settled must not leave watches stranded.
    this.scheduleReconnect()
  }

  /** Keeps trying to reconnect in the background while watches wait to resume. */
  private scheduleReconnect(): void {
    if (this.closed || this.watches.size === 0 || this.reconnectTimer) return
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined
      // Keep trying until a socket is open: watches waiting to resume have no call of their own to trigger one.
      this.connect().then(
        () => {
          if (this.socket?.readyState !== WebSocket.OPEN) this.scheduleReconnect()
        },
        () => this.scheduleReconnect(),
      )
    }, this.reconnectDelay)
    this.reconnectTimer.unref()
    this.reconnectDelay = Math.min(this.reconnectDelay * 2, 2000)
  }

  /** Fails every pending request (the socket could not be opened). */
  private failAll(error: Error): void {
    for (const entry of this.pending.values()) entry.reject(error)
    this.pending.clear()
    this.queue.length = 0
  }

  private startTicker(): void {
    if (this.ticker) return
    const period = Math.max(10, Math.min(500, Math.floor(this.options.timeoutMs / 10)))
    this.ticker = setInterval(() => this.expire(), period)
    this.ticker.unref()
  }

  private stopTicker(): void {
    clearInterval(this.ticker)
    this.ticker = undefined
  }

  /** Fails requests past their deadline. */
  private expire(): void {
    const now = Date.now()
    for (const [id, entry] of this.pending) {
      if (entry.deadline > now) continue
      this.pending.delete(id)
      entry.reject(
        new BackendError(
          `the server at ${this.options.url} did not answer within ${this.options.timeoutMs} ms (timeoutMs)` +
            (entry.write && entry.sent ? '; the outcome of this write is unknown: read before retrying' : ''),
        ),
      )
    }
    if (this.pending.size === 0) this.stopTicker()
  }
}
