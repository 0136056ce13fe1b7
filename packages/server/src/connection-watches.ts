import type { FrameReader } from '@cubby/backend-remote/wire'
import { Op } from '@cubby/backend-remote/wire'
import { BackendError, ForbiddenError, InvalidConfigError, UnauthorizedError } from '@cubby/core'
import { requirePermission, resolve, type Session } from './access.js'
import type { ServerShared } from './connection.js'
import type { Reply } from './handlers.js'
import { viewAt } from './views.js'
import { WatchLeases } from './watch-leases.js'
import type { ServerWatch, WatchTarget } from './watches.js'

/** The connection a set of watches streams to. */
export interface WatchConnection extends WatchTarget {
  readonly isClosed: boolean
}

/**
 * The watches of one connection, by handle (the WATCH/RESUME request id): starting them (a handle in use or starting
 * is refused, at most `maxWatches` counting those starting), and ending them with their session's lease (token
 * expiry by the cubby's clock, RELEASE, a re-AUTH for another context).
 */
export class ConnectionWatches {
  private readonly watches = new Map<number, ServerWatch>()
  /** Handles of WATCH/RESUME requests still starting: taken, and counted toward `maxWatches`. */
  private readonly starting = new Set<number>()
  /** The session each watch handle runs under: a watch ends with its session's token. */
  private readonly leases = new WatchLeases()

  constructor(
    private readonly shared: ServerShared,
    private readonly connection: WatchConnection,
  ) {}

  /** Live watches. */
  get size(): number {
    return this.watches.size
  }

  /**
   * Runs a WATCH or RESUME (`op`) of `session` whose request id becomes handle `id`, then leases it to `sessionId`;
   * `current()` says whether the session is still the one that ran the request (not released or replaced).
   */
  async start(
    op: number,
    id: number,
    sessionId: number,
    session: Session,
    r: FrameReader,
    current: () => boolean,
  ): Promise<Reply> {
    if (this.watches.has(id) || this.starting.has(id)) {
      throw new InvalidConfigError(
        'id',
        `request id ${id} is the handle of a watch on this connection; use an id that is not a live watch's handle`,
      )
    }
    const { maxWatches } = this.shared.options
    if (this.watches.size + this.starting.size >= maxWatches) {
      throw new BackendError(`too many watches on one connection (the server allows ${maxWatches})`)
    }
    this.starting.add(id)
    try {
      const reply = await (op === Op.WATCH ? this.watch(session, id, r) : this.resume(session, id, r))
      if (!current() || this.shared.clock() >= session.expiresAt) {
        this.unwatch(id)
        throw new UnauthorizedError('the session was released, re-authenticated or expired while the watch started')
      }
      this.leases.set(id, sessionId, session)
      return reply
    } finally {
      this.starting.delete(id)
    }
  }

  /** Stops the watch `handle` (no WATCH_END: the client asked). */
  unwatch(handle: number): void {
    const watch = this.watches.get(handle)
    this.forget(handle)
    if (watch?.heldBy(this.connection, handle)) watch.close()
  }

  /** Forgets `handle` (its watch ended). */
  forget(handle: number): void {
    this.watches.delete(handle)
    this.leases.delete(handle)
  }

  /** Ends the watches whose token expired at `clockNow` (the cubby's clock). */
  expire(clockNow: number): void {
    this.endAll(this.leases.expired(clockNow))
  }

  /** Ends the watches of a released session. */
  released(sessionId: number): void {
    this.endAll(this.leases.released(sessionId))
  }

  /** `sessionId` was authenticated again as `next` (undefined: refused): watches of another context end. */
  reauthenticated(sessionId: number, next: Session | undefined): void {
    this.endAll(this.leases.reauthenticated(sessionId, next))
  }

  /** The connection closed: its watches wait to be resumed elsewhere. */
  detachAll(now: number): void {
    for (const [handle, watch] of this.watches) if (watch.heldBy(this.connection, handle)) watch.detach(now)
    this.watches.clear()
    this.leases.clear()
  }

  /** Closes each watch and sends its WATCH_END with the error. */
  private endAll(ended: [number, Error][]): void {
    for (const [handle, error] of ended) {
      const watch = this.watches.get(handle)
      if (watch?.heldBy(this.connection, handle)) watch.close()
      this.connection.end(handle, error)
    }
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
    if (this.connection.isClosed) {
      watch.close()
      throw new BackendError('connection closed')
    }
    watch.attach(this.connection, id, 0)
    this.watches.set(id, watch)
    return (w) => w.str(watch.id)
  }

  private async resume(session: Session, id: number, r: FrameReader): Promise<Reply> {
    requirePermission(session, 'watch', 'watch')
    const watchId = r.str()
    const lastSeq = r.f64()
    r.end()
    const watch = this.shared.watches.find(watchId, session)
    if (this.connection.isClosed) throw new BackendError('connection closed')
    watch.attach(this.connection, id, lastSeq)
    this.watches.set(id, watch)
    return () => {}
  }
}
