import { BackendError, type WatchSink, type WatchSubscription } from '@cubby/core/backend'
import type { Connection } from './connection.js'
import type { FrameReader } from './wire/buffer.js'
import { fromWireError, readError } from './wire/errors.js'
import { Kind, Op, readEvent } from './wire/protocol.js'

/**
 * The client side of one watch: starts it with WATCH, delivers EVENT frames in sequence, and after a reconnect
 * resumes it with RESUME and the last sequence number seen, so no event is lost or delivered twice. When the server
 * cannot resume it (it restarted, or more events happened meanwhile than it keeps), the watch ends with a
 * `BackendError` through `sink.error`.
 */
export class WatchHandler implements WatchSubscription {
  readonly ready: Promise<void>
  private handle: number
  /** The server's id for this watch (from the WATCH result), needed to resume it. */
  private token: string | undefined
  private lastSeq = 0
  private ended = false

  constructor(
    private readonly connection: Connection,
    private readonly session: number,
    private readonly path: readonly string[],
    private readonly sink: WatchSink,
  ) {
    this.handle = connection.peekId()
    connection.addWatch(this.handle, this)
    this.ready = connection
      .request(session, Op.WATCH, (w) => w.path(path), false)
      .then((r) => {
        this.token = r.str()
      })
      .catch((error: unknown) => {
        this.finish()
        throw error
      })
    // `ready` is read by core; a rejection nobody awaits must not crash the process.
    this.ready.catch(() => {})
  }

  /** An EVENT or WATCH_END frame for this watch. */
  frame(kind: number, r: FrameReader): void {
    if (this.ended) return
    try {
      if (kind === Kind.WATCH_END) {
        this.end(fromWireError(readError(r), (scope) => scope))
        return
      }
      const event = readEvent(r)
      if (event.seq <= this.lastSeq) return // replayed after a resume: already delivered
      if (event.seq !== this.lastSeq + 1) {
        this.end(
          new BackendError(`watch events ${this.lastSeq + 1}..${event.seq - 1} were lost; re-read and watch again`),
        )
        return
      }
      this.lastSeq = event.seq
      this.sink.event(
        event.version === undefined
          ? { type: event.type, key: event.key }
          : { type: event.type, key: event.key, version: event.version },
      )
    } catch (error) {
      this.end(new BackendError(`unreadable watch frame from the server: ${(error as Error).message}`))
    }
  }

  /** The socket dropped: wait for `resume`. A watch that never became ready ends (its `ready` already rejected). */
  disconnected(): void {
    if (this.token === undefined) this.finish()
  }

  /** On a new socket: ask the server to continue after the last event seen. */
  resume(oldHandle: number): void {
    if (this.ended || this.token === undefined) return
    const handle = this.connection.peekId()
    this.connection.moveWatch(oldHandle, handle)
    this.handle = handle
    const token = this.token
    const lastSeq = this.lastSeq
    this.connection
      .request(this.session, Op.RESUME, (w) => w.str(token).f64(lastSeq), false)
      .catch((error: unknown) =>
        this.end(
          new BackendError(
            `the watch on ${JSON.stringify(this.path)} could not be resumed after a reconnect (${(error as Error).message}); ` +
              're-read the state you mirror and watch again',
          ),
        ),
      )
  }

  /** Ends the watch with an error (no more events). */
  end(error: Error): void {
    if (this.ended) return
    this.finish()
    this.sink.error(error)
  }

  close(): void {
    if (this.ended) return
    const handle = this.handle
    this.finish()
    if (this.token !== undefined) {
      this.connection.request(this.session, Op.UNWATCH, (w) => w.u32(handle), false).catch(() => {})
    }
  }

  private finish(): void {
    this.ended = true
    this.connection.removeWatch(this.handle)
  }
}
