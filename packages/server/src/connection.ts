import type { Socket } from 'node:net'
import {
  FrameError,
  FrameReader,
  FrameSender,
  FrameWriter,
  Kind,
  Op,
  toWireError,
  type WireEvent,
  writeError,
  writeEvent,
  writeSessionInfo,
} from '@cubby/backend-remote/wire'
import { BackendError, InvalidConfigError, UnauthorizedError } from '@cubby/core'
import WebSocket from 'ws'
import { type Session, sessionOf } from './access.js'
import { ConnectionWatches } from './connection-watches.js'
import { type HandlerContext, handle, type Reply } from './handlers.js'
import type { ResolvedServerOptions } from './options.js'
import { holdsPartialMessage } from './partial-frame.js'
import { redact } from './redact.js'
import type { ConnectionSlots } from './slots.js'
import { verifyToken } from './tokens.js'
import type { WatchRegistry, WatchTarget } from './watches.js'

/** Most sessions (tokens) one connection may hold. */
const MAX_SESSIONS = 4096

const NOTHING: Reply = () => {}

/** A session of a connection: its verification, and the session once verified (so requests skip the wait). */
interface SessionSlot {
  ready: Promise<Session>
  session?: Session
}

/** What every connection of a server shares. */
export interface ServerShared extends HandlerContext {
  options: ResolvedServerOptions
  watches: WatchRegistry
  slots: ConnectionSlots
  /** The cubby's clock (epoch ms): token expiry follows it, like every other time the server judges. */
  clock: () => number
}

/**
 * One client connection: authenticates sessions, runs requests concurrently (at most `maxInFlight`), streams its
 * watches, and enforces the auth, idle and body timeouts (checked by the server's ticker through `tick`).
 */
export class ServerConnection implements WatchTarget {
  private readonly sessions = new Map<number, SessionSlot>()
  private readonly watches: ConnectionWatches
  /** Token expiry (cubby clock) of each authenticated session; when (wall clock) the connection last held a valid one. */
  private readonly expiries = new Map<number, number>()
  private lastValid = 0
  private readonly sender: FrameSender
  private inFlight = 0
  private authenticated = false
  private readonly openedAt = Date.now()
  private lastFrame = Date.now()
  /** When the peer last sent anything (a frame, a pong, part of a frame). */
  private lastHeard = Date.now()
  /** When the unanswered keepalive ping was sent. */
  private pingSent: number | undefined
  private partialSince: number | undefined
  private closed = false

  constructor(
    private readonly shared: ServerShared,
    private readonly socket: WebSocket,
    raw: Socket,
    private readonly onClose: (connection: ServerConnection) => void,
  ) {
    this.sender = new FrameSender(socket)
    this.watches = new ConnectionWatches(shared, this)
    // Runs before ws reads the chunk, so a frame that completes in it clears the mark again.
    raw.prependListener('data', () => {
      const now = Date.now()
      this.partialSince ??= now
      this.lastHeard = now
      this.pingSent = undefined
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

  /**
   * Closes the connection when a timeout passed; pings a silent peer and cuts one that does not answer; ends the
   * watches of sessions whose token expired (`clockNow`: the cubby's clock, which token expiry follows).
   */
  tick(now: number, clockNow: number): void {
    this.watches.expire(clockNow)
    const { authTimeoutMs, idleTimeoutMs, bodyTimeoutMs, pingIntervalMs, pongTimeoutMs } = this.shared.options
    if (!this.authenticated && now - this.openedAt > authTimeoutMs) this.kill(4401, 'no session authenticated in time')
    else if (this.authenticated && !this.holdsValidSession(now, clockNow) && now - this.lastValid > authTimeoutMs) {
      this.kill(4401, 'no valid session (every token expired or was released)')
    } else if (this.partialSince !== undefined && now - this.partialSince > bodyTimeoutMs)
      this.kill(4408, 'frame too slow')
    else if (this.inFlight === 0 && this.watches.size === 0 && now - this.lastFrame > idleTimeoutMs) {
      this.kill(1000, 'idle')
    } else if (this.pingSent !== undefined && now - this.pingSent > pongTimeoutMs) {
      // No pong: the peer is gone (a half-open connection) or frozen. Its watches wait to be resumed.
      this.socket.terminate()
      this.dispose()
    } else if (this.pingSent === undefined && now - this.lastHeard > pingIntervalMs) {
      this.pingSent = now
      this.socket.ping()
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
    this.watches.forget(handle)
    const w = new FrameWriter(128)
    writeError(w, Kind.WATCH_END, handle, toWireError(error))
    this.send(w.finish())
  }

  private dispose(): void {
    if (this.closed) return
    this.closed = true
    const now = Date.now()
    this.watches.detachAll(now)
    this.sessions.clear()
    this.onClose(this)
  }

  private send(frame: Uint8Array): void {
    if (this.closed || this.socket.readyState !== WebSocket.OPEN) return
    this.sender.send(frame)
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
    if (op === Op.AUTH) {
      this.finish(
        id,
        attempt(() => this.auth(sessionId, r)),
        undefined,
      )
      return
    }
    const slot = this.sessions.get(sessionId)
    if (slot === undefined) {
      const error = new UnauthorizedError('no such session on this connection; send AUTH with a token first')
      this.finish(id, Promise.reject(error), undefined)
    } else if (slot.session !== undefined) {
      // The hot path: a verified session runs its request without waiting a turn.
      const session = slot.session
      this.finish(
        id,
        attempt(() => this.run(op, id, sessionId, slot, session, r)),
        session,
      )
    } else {
      const session = slot.ready.catch(() => {
        throw new UnauthorizedError('this session’s token was refused; open a new session with a valid token')
      })
      this.finish(
        id,
        session.then((s) => this.run(op, id, sessionId, slot, s, r)),
        undefined,
        session,
      )
    }
  }

  /**
   * Sends the answer of request `id` once `result` settles, and frees its in-flight slot. An error while building
   * or sending it (an allocation failure, a bug) becomes an ERROR answer; if even that fails the connection is
   * closed: an answer never takes the process down.
   */
  private finish(id: number, result: Promise<Reply>, session: Session | undefined, pending?: Promise<Session>): void {
    result
      .then(
        (reply) => {
          this.settled()
          this.answer(id, reply, session)
        },
        (error: unknown) => {
          this.settled()
          if (session !== undefined || pending === undefined) this.fail(id, error, session)
          else
            return pending.then(
              (s) => this.fail(id, error, s),
              () => this.fail(id, error, undefined),
            )
        },
      )
      .catch(() => this.kill(1011, 'could not answer a request'))
  }

  private settled(): void {
    this.inFlight--
    this.lastFrame = Date.now()
  }

  /** Sends a RESULT; an error while building it is answered as an ERROR instead. */
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

  /** Runs one request of a verified session (`slot` is the session's entry, to see whether it was replaced). */
  private run(
    op: number,
    id: number,
    sessionId: number,
    slot: SessionSlot,
    session: Session,
    r: FrameReader,
  ): Promise<Reply> {
    if (this.shared.clock() >= session.expiresAt) {
      return Promise.reject(new UnauthorizedError('the token has expired; get a new one and open a new session'))
    }
    switch (op) {
      case Op.RELEASE:
        this.sessions.delete(sessionId)
        this.expiries.delete(sessionId)
        this.watches.released(sessionId)
        return Promise.resolve(NOTHING)
      case Op.WATCH:
      case Op.RESUME:
        return this.watches.start(op, id, sessionId, session, r, () => this.sessions.get(sessionId) === slot)
      case Op.UNWATCH:
        this.watches.unwatch(r.u32())
        return Promise.resolve(NOTHING)
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
    const verifying = verifyToken(token, this.shared.options.keys, this.shared.clock()).then((verified) => {
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
    const slot: SessionSlot = { ready: verifying }
    const replaced = this.sessions.has(sessionId)
    this.sessions.set(sessionId, slot)
    if (replaced) {
      // Watches of the session follow its new token, or end if it opens another context (or was refused).
      const rebind = (next: Session | undefined) => {
        if (this.sessions.get(sessionId) === slot) this.watches.reauthenticated(sessionId, next)
      }
      verifying.then(rebind, () => rebind(undefined))
    }
    let session: Session
    try {
      session = await verifying
    } catch (error) {
      if (this.sessions.get(sessionId) === slot) this.expiries.delete(sessionId)
      throw error
    }
    slot.session = session
    if (this.sessions.get(sessionId) === slot) this.expiries.set(sessionId, session.expiresAt)
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

  /**
   * Whether a session's token is still valid at `clockNow` (the cubby's clock); `now` (wall clock) is then
   * remembered as the last time the connection held one.
   */
  private holdsValidSession(now: number, clockNow: number): boolean {
    for (const expiresAt of this.expiries.values()) {
      if (clockNow < expiresAt) {
        this.lastValid = now
        return true
      }
    }
    return false
  }
}

/** Runs `start`, turning a synchronous throw into a rejected promise. */
function attempt(start: () => Promise<Reply>): Promise<Reply> {
  try {
    return start()
  } catch (error) {
    return Promise.reject(error)
  }
}
