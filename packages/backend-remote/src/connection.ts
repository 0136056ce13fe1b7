import { BackendError, ValueTooLargeError } from '@cubby/core/backend'
import WebSocket from 'ws'
import { lostError, timeoutError } from './failures.js'
import { GetBatcher } from './get-batch.js'
import { openSocket } from './open-socket.js'
import type { WatchHandler } from './watch-client.js'
import { FrameReader, FrameWriter } from './wire/buffer.js'
import { FrameSender } from './wire/cork.js'
import { fromWireError, readError } from './wire/errors.js'
import { type Hello, Kind, Op } from './wire/protocol.js'

/** Options of a connection. */
export interface ConnectionOptions {
  /** The server's WebSocket URL (`ws://` or `wss://`). */
  url: string
  /**
   * A call (connecting included) that takes longer fails with `BackendError`. A socket that stays silent for half
   * of it while calls or watches wait is pinged, and replaced when the pong does not come within the other half.
   */
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
 * server's `maxInFlight` requests outstanding (queueing the rest), notices a dead socket by ping, and
 * re-authenticates sessions and resumes watches after a reconnect.
 */
export class Connection {
  private socket: WebSocket | undefined
  private sender: FrameSender | undefined
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
  /** When the socket last delivered anything (a frame or a pong). */
  private lastHeard = 0
  /** When the unanswered keepalive ping was sent. */
  private pingSent: number | undefined
  private closed = false
  /** Users of this connection (backends); it closes when the last one releases it. */
  refs = 0
  /** Merges single-key gets issued together into one GET frame. */
  readonly batcher = new GetBatcher(this)

  constructor(readonly options: ConnectionOptions) {}

  /** The server's greeting, once connected. */
  get serverHello(): Hello | undefined {
    return this.hello
  }

  /** The server's `maxBatchSize` (keys per GET), once connected. */
  get maxKeys(): number | undefined {
    return this.hello?.maxBatchSize
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
    this.startTicker()
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

  /** Starts a request frame: its header (`op`, a fresh id, `session`) is written; the caller adds the body. */
  begin(session: number, op: number, size?: number): FrameWriter {
    return new FrameWriter(size).u8(op).u32(this.takeId()).u32(session)
  }

  /**
   * Sends a frame started with `begin` and resolves with a reader over its result body. `write` marks requests that
   * change data, whose outcome is unknown when the connection drops after they were sent (the error says so).
   */
  submit(w: FrameWriter, write: boolean): Promise<FrameReader> {
    // Gets merged but not yet sent were called before this request: they go first.
    if (this.batcher.pending) this.batcher.flush()
    if (this.closed) return Promise.reject(new BackendError('the remote connection is closed'))
    const frame = w.finish()
    const limit = this.hello?.maxFrameBytes
    if (limit !== undefined && frame.byteLength > limit) {
      const error = new ValueTooLargeError('(request)', frame.byteLength, limit)
      error.message =
        `this request is ${frame.byteLength} bytes on the wire, over the server's maxFrameBytes of ${limit}; ` +
        'write fewer or smaller values per batch, or raise maxFrameBytes on the server'
      return Promise.reject(error)
    }
    const id = frame.readUInt32LE(1)
    return new Promise<FrameReader>((resolve, reject) => {
      const entry: Pending = {
        deadline: Date.now() + this.options.timeoutMs,
        write,
        sent: false,
        frame,
        resolve,
        reject,
      }
      this.pending.set(id, entry)
      this.startTicker()
      const socket = this.socket
      if (socket !== undefined && this.queue.length === 0 && this.inFlight < this.hello!.maxInFlight) {
        // The common case: connected, a slot free, nothing queued ahead.
        entry.sent = true
        this.inFlight++
        this.sender!.send(frame)
        return
      }
      this.queue.push(id)
      if (socket !== undefined) this.flush()
      else this.connect().catch(() => {}) // failures reach the queued requests through failAll()
    })
  }

  /** `begin` + `submit`, for callers that write their body in a callback. */
  request(session: number, op: number, body: (w: FrameWriter) => void, write: boolean): Promise<FrameReader> {
    const w = this.begin(session, op)
    body(w)
    return this.submit(w, write)
  }

  /** Releases the connection: fails what is pending, closes the socket. */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.batcher.flush() // their requests fail: the connection is closed
    clearTimeout(this.reconnectTimer)
    this.failAll(new BackendError('the remote connection was closed'))
    for (const watch of this.watches.values()) watch.end(new BackendError('the remote connection was closed'))
    this.watches.clear()
    this.socket?.terminate()
    this.socket = undefined
    this.sender = undefined
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
    if (this.socket !== undefined) return Promise.resolve()
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined
    })
    return this.connecting
  }

  private async open(): Promise<void> {
    let socket: WebSocket | undefined
    const heard = () => {
      if (this.socket !== socket) return
      this.lastHeard = Date.now()
      this.pingSent = undefined
    }
    try {
      const opened = await openSocket(this.options.url, this.options.timeoutMs, {
        message: (data) => {
          heard()
          if (this.socket === socket) this.receive(data)
        },
        pong: heard,
        close: () => {
          if (this.socket === socket) this.lost()
        },
      })
      socket = opened.socket
      this.hello = opened.hello
    } catch (error) {
      this.failAll(error as Error)
      this.scheduleReconnect()
      throw error
    }
    if (this.closed) {
      socket.terminate()
      throw new BackendError('the remote connection is closed')
    }
    this.socket = socket
    this.sender = new FrameSender(socket)
    this.lastHeard = Date.now()
    this.pingSent = undefined
    this.reconnectDelay = 50
    this.reauthenticate()
    this.flush()
  }

  /** After a reconnect: AUTH every session and RESUME every watch, ahead of queued requests. */
  private reauthenticate(): void {
    for (const [session, record] of this.sessions) {
      // Its answer is ignored (but counted in flight, as the server counts it): a refused token fails the session's
      // own requests with UNAUTHORIZED.
      this.inFlight++
      this.sender!.send(this.begin(session, Op.AUTH).str(record.token).finish())
    }
    for (const [handle, watch] of [...this.watches]) watch.resume(handle)
  }

  /** Sends queued requests while in-flight slots are free. */
  private flush(): void {
    const sender = this.sender
    if (sender === undefined) return
    const max = this.hello!.maxInFlight
    while (this.queue.length > 0 && this.inFlight < max) {
      const id = this.queue.shift()!
      const entry = this.pending.get(id)
      if (!entry || entry.sent) continue
      entry.sent = true
      this.inFlight++
      sender.send(entry.frame)
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
    if (kind !== Kind.RESULT && kind !== Kind.ERROR) return
    if (this.inFlight > 0) this.inFlight--
    if (this.queue.length > 0) this.flush()
    const entry = this.pending.get(id)
    if (!entry) return
    this.pending.delete(id)
    if (kind === Kind.RESULT) entry.resolve(r)
    else {
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
    this.sender = undefined
    this.pingSent = undefined
    this.inFlight = 0
    for (const [id, entry] of this.pending) {
      if (!entry.sent) continue
      this.pending.delete(id)
      entry.reject(lostError(this.options.url, entry.write))
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
          if (this.socket === undefined) this.scheduleReconnect()
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
    if (this.ticker || this.closed) return
    const period = Math.max(10, Math.min(500, Math.floor(this.options.timeoutMs / 10)))
    this.ticker = setInterval(() => this.tick(), period)
    this.ticker.unref()
  }

  private stopTicker(): void {
    clearInterval(this.ticker)
    this.ticker = undefined
  }

  private tick(): void {
    const now = Date.now()
    this.expire(now)
    this.keepalive(now)
    if (this.pending.size === 0 && this.watches.size === 0) this.stopTicker()
  }

  /**
   * While calls are outstanding or watches wait for events, a socket silent for `timeoutMs / 2` is pinged; one that
   * still has not answered `timeoutMs / 2` later is dead (a half-open TCP connection, a frozen server): it is cut,
   * which fails what was sent on it and reconnects, so nothing waits on it past its `timeoutMs`.
   */
  private keepalive(now: number): void {
    const socket = this.socket
    if (socket === undefined || (this.inFlight === 0 && this.watches.size === 0)) return
    const half = this.options.timeoutMs / 2
    if (this.pingSent === undefined) {
      if (now - this.lastHeard < half) return
      this.pingSent = now
      socket.ping()
    } else if (now - this.pingSent >= half) {
      socket.terminate()
      this.lost()
    }
  }

  /** Fails requests past their deadline. */
  private expire(now: number): void {
    for (const [id, entry] of this.pending) {
      if (entry.deadline > now) continue
      this.pending.delete(id)
      entry.reject(timeoutError(this.options.url, this.options.timeoutMs, entry.write && entry.sent))
    }
  }
}
