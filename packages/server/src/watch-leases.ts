import { UnauthorizedError } from '@cubby/core'
import { type Session, sameContext } from './access.js'

/** The session a connection's watch handle runs under, and until when its token lets it. */
interface Lease {
  sessionId: number
  session: Session
}

/**
 * Which session each watch handle of a connection runs under: a watch lives no longer than the token of that
 * session. It ends (WATCH_END `UNAUTHORIZED`) when the token expires, when the session is released, and when the
 * session is re-authenticated with a token that does not open the same context with `watch` (a token for the same
 * context renews the watch's lease instead, so a client refreshing its token keeps its watches).
 */
export class WatchLeases {
  private readonly leases = new Map<number, Lease>()

  /** Records that `handle` runs under `sessionId`. */
  set(handle: number, sessionId: number, session: Session): void {
    this.leases.set(handle, { sessionId, session })
  }

  /** Forgets `handle` (its watch ended another way). */
  delete(handle: number): void {
    this.leases.delete(handle)
  }

  /** Forgets every handle. */
  clear(): void {
    this.leases.clear()
  }

  /** Handles whose token expired at `now`, each with the error to end it with; they are forgotten. */
  expired(now: number): [number, Error][] {
    const out: [number, Error][] = []
    for (const [handle, lease] of this.leases) {
      if (now >= lease.session.expiresAt) {
        this.leases.delete(handle)
        out.push([
          handle,
          new UnauthorizedError(
            "the token of this watch's session has expired; authenticate a session with a new token and watch again",
          ),
        ])
      }
    }
    return out
  }

  /** Handles of `sessionId`, forgotten, with the error to end them with: the session was released. */
  released(sessionId: number): [number, Error][] {
    return this.take(
      sessionId,
      () => new UnauthorizedError("this watch's session was released; authenticate a session and watch again"),
    )
  }

  /**
   * `sessionId` was authenticated again, now as `session` (undefined when the new token was refused): handles of
   * the same context keep running under the new token; the others are forgotten and returned to be ended.
   */
  reauthenticated(sessionId: number, session: Session | undefined): [number, Error][] {
    const ended: [number, Error][] = []
    for (const [handle, lease] of this.leases) {
      if (lease.sessionId !== sessionId) continue
      if (session?.access.has('watch') && sameContext(lease.session, session)) {
        lease.session = session
        continue
      }
      this.leases.delete(handle)
      ended.push([
        handle,
        new UnauthorizedError(
          "this watch's session was authenticated again with a token for another context or without 'watch' (or " +
            'a refused one); watch again with a session whose token opens this scope',
        ),
      ])
    }
    return ended
  }

  private take(sessionId: number, error: () => Error): [number, Error][] {
    const out: [number, Error][] = []
    for (const [handle, lease] of this.leases) {
      if (lease.sessionId === sessionId) {
        this.leases.delete(handle)
        out.push([handle, error()])
      }
    }
    return out
  }
}
