import type { Socket } from 'node:net'
import {
  FrameError,
  FrameReader,
  FrameWriter,
  Kind,
  Op,
  sendCorked,
  toWireError,
  type WireEvent,
  writeError,
  writeEvent,
  writeSessionInfo,
} from '@cubby/backend-remote/wire'
import { BackendError, ForbiddenError, InvalidConfigError, QuotaExceededError, UnauthorizedError } from '@cubby/core'
import WebSocket from 'ws'
import { requirePermission, resolve, type Session, sessionOf } from './access.js'
import { type HandlerContext, handle, type Reply } from './handlers.js'
import type { ResolvedServerOptions } from './options.js'
import { holdsPartialMessage } from './partial-frame.js'
import type { ConnectionSlots } from './slots.js'
import { verifyToken } from './tokens.js'
import { viewAt } from './views.js'
import { WatchLeases } from './watch-leases.js'
import type { ServerWatch, WatchRegistry, WatchTarget } from './watches.js'

/** Most sessions (tokens) one connection may hold. */
const MAX_SESSIONS = 4096

/** What every connection of a server shares. */
export interface ServerShared extends HandlerContext {
  options: ResolvedServerOptions
  watches: WatchRegistry
  slots: ConnectionSlots
}

/**
 * One client connection: authenticates sessions, runs requests concurrently (at most `maxInFlight`), streams its
 * watches, and enforces the auth, idle and body timeouts (checked by the server's ticker through `tick`).
 */
export class ServerConnection implements WatchTarget {
  private readonly sessions = new Map<number, Promise<Session>>()
  private readonly watches = new Map<number, ServerWatch>()
  /** Handles of WATCH/RESUME requests still starting: taken, and counted toward `maxWatches`. */
  private readonly startingWatches = new Set<number>()
  /** The session each watch handle runs under: a watch ends with its session's token. */
  private readonly leases = new WatchLeases()
  /** Token expiry of each authenticated session, and when the connection last held a valid one. */
  private readonly expiries = new Map<number, number>()
  private lastValid = 0
  private inFlight = 0
  private authenticated = false
  private readonly openedAt = Date.now()
  private lastFrame = Date.now()
  private partialSince: number | undefined
  private closed = false

  constructor(
    private readonly shared: ServerShared,
    private readonly socket: WebSocket,
    raw: Socket,
    private readonly onClose: (connection: ServerConnection) => void,
  ) {
    // Runs before ws reads the chunk, so a frame that completes in it clears the mark again.
    raw.prependListener('data', () => {
      this.partialSince ??= Date.now()
    })
    // Runs after ws parsed the chunk: a partial frame that started in a chunk that also completed a frame is timed.
    raw.on('data', () => {
      if (holdsPartialMessage(socket)) this.partialSince ??= Date.now()
    })
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) {
        this.kill(1003, 'text frames are a protocol error; send binary frames')
        return
      }
      this.partialSince = undefined
      this.lastFrame = Date.now()
      this.receive(data)
    })
    socket.on('close', () => this.dispose())
    socket.on('error', () => this.dispose())
  }

  /** Whether the connection is closed (a watch still attached to it is swept). */
  get isClosed(): boolean {
    return this.closed
  }

  /** Closes the connection when a timeout passed. */
  tick(now: number): void {
    this.endWatches(this.leases.expired(now))
    const { authTimeoutMs, idleTimeoutMs, bodyTimeoutMs } = this.shared.options
    if (!this.authenticated && now - this.openedAt > authTimeoutMs) this.kill(4401, 'no session authenticated in time')
    else if (this.authenticated && !this.holdsValidSession(now) && now - this.lastValid > authTimeoutMs) {
      this.kill(4401, 'no valid session (every token expired or was released)')
    } else if (this.partialSince !== undefined && now - this.partialSince > bodyTimeoutMs)
      this.kill(4408, 'frame too slow')
    else if (this.inFlight === 0 && this.watches.size === 0 && now - this.lastFrame > idleTimeoutMs) {
      this.kill(1000, 'idle')
    }
  }

  /** Closes the socket now. */
  kill(code: number, reason: string): void {
    if (this.closed) return
    if (this.socket.readyState === WebSocket.OPEN) this.socket.close(code, reason)
    // A peer that does not answer the close handshake is cut off.
    setTimeout(() => this.socket.terminate(), 1000).unref()
    this.dispose()
  }

  event(handle: number, event: WireEvent): void {
    const w = new FrameWriter(64)
    writeEvent(w, handle, event)
    this.send(w.finish())
  }

  end(handle: number, error: Error): void {
    this.watches.delete(handle)
    this.leases.delete(handle)
    const w = new FrameWriter(128)
    writeError(w, Kind.WATCH_END, handle, toWireError(error))
    this.send(w.finish())
  }

  private dispose(): void {
    if (this.closed) return
    this.closed = true
    const now = Date.now()
    for (const [handle, watch] of this.watches) if (watch.heldBy(this, handle)) watch.detach(now)
    this.watches.clear()
    this.leases.clear()
    this.sessions.clear()
    this.onClose(this)
  }

  private send(frame: Uint8Array): void {
    if (this.closed || this.socket.readyState !== WebSocket.OPEN) return
    sendCorked(this.socket, frame)
    // A client that does not read its answers cannot make the server hold unbounded memory for it.
    if (this.socket.bufferedAmount > this.shared.options.maxBufferedBytes) this.kill(4409, 'not reading')
  }

  private receive(data: Buffer): void {
    let r: FrameReader
    let op: number
    let id: number
    let sessionId: number
    try {
      r = new FrameReader(data)
      op = r.u8()
      id = r.u32()
      sessionId = r.u32()
    } catch {
      this.kill(4400, 'malformed frame')
      return
    }
    if (this.inFlight >= this.shared.options.maxInFlight) {
      this.fail(
        id,
        new BackendError(`too many requests in flight (the server allows ${this.shared.options.maxInFlight})`),
        undefined,
      )
      return
    }
    this.inFlight++
    let session: Session | undefined
    this.process(op, id, sessionId, r, (s) => {
      session = s
    })
      .then(
        (reply) => this.answer(id, reply, session),
        (error: unknown) => this.fail(id, error, session),
      )
      .catch(() => this.kill(1011, 'could not answer a request'))
      .finally(() => {
        this.inFlight--
        this.lastFrame = Date.now()
      })
  }

  /**
   * Sends a RESULT. An error while building or sending it (an allocation failure, a bug) becomes an ERROR answer;
   * if even that fails, `receive` closes the connection: an answer never takes the process down.
   */
  private answer(id: number, reply: Reply, session: Session | undefined): void {
    let frame: Uint8Array
    try {
      const w = new FrameWriter(Math.max(256, 5 + (reply.bytes ?? 0)))
      w.u8(Kind.RESULT).u32(id)
      reply(w)
      frame = w.finish()
    } catch (error) {
      this.fail(id, error, session)
      return
    }
    this.send(frame)
  }

  private fail(id: number, error: unknown, session: Session | undefined): void {
    const w = new FrameWriter(256)
    const cause = error instanceof FrameError ? new InvalidConfigError('frame', error.message) : error
    writeError(w, Kind.ERROR, id, toWireError(redact(cause, session)))
    this.send(w.finish())
  }

  private async process(
    op: number,
    id: number,
    sessionId: number,
    r: FrameReader,
    bind: (session: Session) => void,
  ): Promise<Reply> {
    if (op === Op.AUTH) return this.auth(sessionId, r)
    const pending = this.sessions.get(sessionId)
    if (!pending) throw new UnauthorizedError('no such session on this connection; send AUTH with a token first')
    const session = await pending.catch(() => {
      throw new UnauthorizedError('this session’s token was refused; open a new session with a valid token')
    })
    bind(session)
    if (Date.now() >= session.expiresAt) throw new UnauthorizedError('the token has expired; get a new one')
    switch (op) {
      case Op.RELEASE:
        this.sessions.delete(sessionId)
        this.expiries.delete(sessionId)
        this.endWatches(this.leases.released(sessionId))
        return () => {}
      case Op.WATCH:
      case Op.RESUME: {
        const reply = await this.holdingHandle(id, () =>
          op === Op.WATCH ? this.watch(session, id, r) : this.resume(session, id, r),
        )
        this.lease(id, sessionId, pending, session)
        return reply
      }
      case Op.UNWATCH: {
        const handle = r.u32()
        const watch = this.watches.get(handle)
        this.watches.delete(handle)
        this.leases.delete(handle)
        if (watch?.heldBy(this, handle)) watch.close()
        return () => {}
      }
      default:
        return handle(this.shared, session, op, r)
    }
  }

  private async auth(sessionId: number, r: FrameReader): Promise<Reply> {
    const token = r.str()
    r.end()
    if (sessionId === 0) throw new UnauthorizedError('session 0 is reserved; number sessions from 1')
    if (!this.sessions.has(sessionId) && this.sessions.size >= MAX_SESSIONS) {
      throw new UnauthorizedError(`too many sessions on one connection (at most ${MAX_SESSIONS}); release some`)
    }
    const verifying = verifyToken(token, this.shared.options.keys, Date.now()).then((verified) => {
      if (verified.root && !this.shared.options.allowRoot) {
        throw new UnauthorizedError('this server does not accept root tokens (allowRoot is off)')
      }
      const session = sessionOf(verified)
      if (!this.closed && !this.shared.slots.claim(this, session)) {
        throw new BackendError(
          `too many connections hold a session of this token's context (the server allows ` +
            `${this.shared.options.maxConnectionsPerContext}); share one connection, or retry later`,
        )
      }
      return session
    })
    verifying.catch(() => {})
    const replaced = this.sessions.has(sessionId)
    this.sessions.set(sessionId, verifying)
    if (replaced) {
      // Watches of the session follow its new token, or end if it opens another context (or was refused).
      const rebind = (next: Session | undefined) => {
        if (this.sessions.get(sessionId) === verifying) this.endWatches(this.leases.reauthenticated(sessionId, next))
      }
      verifying.then(rebind, () => rebind(undefined))
    }
    let session: Session
    try {
      session = await verifying
    } catch (error) {
      if (this.sessions.get(sessionId) === verifying) this.expiries.delete(sessionId)
      throw error
    }
    if (this.sessions.get(sessionId) === verifying) this.expiries.set(sessionId, session.expiresAt)
    this.authenticated = true
    this.lastValid = Math.max(this.lastValid, Date.now())
    return (w) =>
      writeSessionInfo(w, {
        root: session.root,
        access:
          (session.access.has('read') ? 1 : 0) |
          (session.access.has('write') ? 2 : 0) |
          (session.access.has('watch') ? 4 : 0),
        ...(session.root
          ? {}
          : {
              workspace: session.workspace!,
              plugin: session.plugin!,
              ...(session.user === undefined ? {} : { user: session.user }),
            }),
      })
  }

  private async watch(session: Session, id: number, r: FrameReader): Promise<Reply> {
    requirePermission(session, 'watch', 'watch')
    const { path, region } = resolve(session, r.path())
    r.end()
    if (region === 'users') throw new ForbiddenError('the user level holds no keys to watch')
    this.shared.raw.at(path) // validates the path
    const watch = this.shared.watches.start(session, viewAt(this.shared.cubby, path))
    try {
      await watch.ready
    } catch (error) {
      watch.close()
      throw error
    }
    if (this.closed) {
      watch.close()
      throw new BackendError('connection closed')
    }
    watch.attach(this, id, 0)
    this.watches.set(id, watch)
    return (w) => w.str(watch.id)
  }

  /** Whether a session's token is still valid at `now` (the time is remembered as the last valid one). */
  private holdsValidSession(now: number): boolean {
    for (const expiresAt of this.expiries.values()) {
      if (now < expiresAt) {
        this.lastValid = now
        return true
      }
    }
    return false
  }

  /**
   * Binds a started watch's handle to the session it runs under; if the session was released or re-authenticated
   * while the watch started, the watch is closed and the request fails.
   */
  private lease(handle: number, sessionId: number, pending: Promise<Session>, session: Session): void {
    if (this.sessions.get(sessionId) === pending && Date.now() < session.expiresAt) {
      this.leases.set(handle, sessionId, session)
      return
    }
    const watch = this.watches.get(handle)
    this.watches.delete(handle)
    if (watch?.heldBy(this, handle)) watch.close()
    throw new UnauthorizedError('the session was released, re-authenticated or expired while the watch started')
  }

  /** Ends watches whose session no longer lets them run: closed, and WATCH_END sent with the error. */
  private endWatches(ended: [number, Error][]): void {
    for (const [handle, error] of ended) {
      const watch = this.watches.get(handle)
      if (watch?.heldBy(this, handle)) watch.close()
      this.end(handle, error)
    }
  }

  /**
   * Runs a WATCH or RESUME whose request id becomes a watch handle: refused when the id is already the handle of a
   * live or starting watch on this connection (it would replace one without closing it), or when the connection
   * holds `maxWatches` (those starting included).
   */
  private async holdingHandle(id: number, start: () => Promise<Reply>): Promise<Reply> {
    if (this.watches.has(id) || this.startingWatches.has(id)) {
      throw new InvalidConfigError(
        'id',
        `request id ${id} is the handle of a watch on this connection; use an id that is not a live watch's handle`,
      )
    }
    const { maxWatches } = this.shared.options
    if (this.watches.size + this.startingWatches.size >= maxWatches) {
      throw new BackendError(`too many watches on one connection (the server allows ${maxWatches})`)
    }
    this.startingWatches.add(id)
    try {
      return await start()
    } finally {
      this.startingWatches.delete(id)
    }
  }

  private async resume(session: Session, id: number, r: FrameReader): Promise<Reply> {
    requirePermission(session, 'watch', 'watch')
    const watchId = r.str()
    const lastSeq = r.f64()
    r.end()
    const watch = this.shared.watches.find(watchId, session)
    if (this.closed) throw new BackendError('connection closed')
    watch.attach(this, id, lastSeq)
    this.watches.set(id, watch)
    return () => {}
  }
}

/**
 * A quota error on a scope whose subtree holds data outside a plugin token's context (the plugin's whole store,
 * with its users; a workspace) would disclose that data's usage: its figures are withheld.
 */
function redact(error: unknown, session: Session | undefined): unknown {
  if (!(error instanceof QuotaExceededError) || !session) return error
  const inside = session.root || error.scope.length > 2
  const scope = error.scope.length >= session.base.length ? error.scope.slice(session.base.length) : []
  if (inside) {
    const mapped = new QuotaExceededError({ ...error, scope })
    mapped.message = error.message
    return mapped
  }
  const hidden = new QuotaExceededError({
    scope: [],
    dimension: error.dimension,
    limit: error.limit,
    used: -1,
    requested: -1,
  })
  hidden.message =
    `quota exceeded: the plugin's storage is at its ${error.dimension} limit of ${error.limit} (usage outside this ` +
    "token's context is not disclosed); delete data or ask the host to raise the quota"
  return hidden
}
