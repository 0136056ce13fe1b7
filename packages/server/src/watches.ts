import { randomBytes } from 'node:crypto'
import type { WireEvent } from '@cubby/backend-remote/wire'
import type { KVStore, Watch } from '@cubby/core'
import { BackendError } from '@cubby/core'
import { type Session, sameContext } from './access.js'

/** Where a watch's events go while a connection holds it. */
export interface WatchTarget {
  event(handle: number, event: WireEvent): void
  end(handle: number, error: Error): void
  /** Whether the target is gone for good (its watches are swept like detached ones). */
  readonly isClosed?: boolean
}

/**
 * One server-side watch. It keeps the last `replay` events with their sequence numbers, and survives its
 * connection for `resumeMs`, so a client that reconnects continues exactly after the last event it saw.
 */
export class ServerWatch {
  /** Secret id the client resumes with. */
  readonly id = randomBytes(18).toString('base64url')
  private readonly ring: WireEvent[] = []
  private seq = 0
  private target: WatchTarget | undefined
  private handle = 0
  private failure: Error | undefined
  /** When the watch lost its connection (ms), while detached. */
  detachedAt: number | undefined
  private readonly watch: Watch

  constructor(
    readonly session: Session,
    view: KVStore,
    private readonly replay: number,
    private readonly registry: WatchRegistry,
  ) {
    this.watch = view.watch(undefined, { maxBuffered: replay })
    this.pump()
  }

  /** Resolves once the watch observes (core bounds it by the cubby's timeout). */
  get ready(): Promise<void> {
    return this.watch.ready
  }

  private async pump(): Promise<void> {
    try {
      for await (const change of this.watch) {
        const event: WireEvent =
          change.version === undefined
            ? { seq: ++this.seq, type: change.type, key: change.key }
            : { seq: ++this.seq, type: change.type, key: change.key, version: change.version }
        this.ring.push(event)
        if (this.ring.length > this.replay) this.ring.shift()
        this.target?.event(this.handle, event)
      }
    } catch (error) {
      this.failure = error instanceof Error ? error : new BackendError(String(error))
      this.target?.end(this.handle, this.failure)
      this.close()
    }
  }

  /** Sends events to `target` under `handle`, starting after `lastSeq` (replayed from the ring). */
  attach(target: WatchTarget, handle: number, lastSeq: number): void {
    if (this.failure) throw this.failure
    const oldest = this.ring[0]?.seq ?? this.seq + 1
    if (lastSeq < this.seq && lastSeq + 1 < oldest) {
      throw new BackendError(
        `the watch missed ${oldest - lastSeq - 1} events while disconnected (more than the server keeps); re-read and watch again`,
      )
    }
    if (lastSeq > this.seq) throw new BackendError('the watch cannot resume after an event it never sent')
    this.target = target
    this.handle = handle
    this.detachedAt = undefined
    for (const event of this.ring) if (event.seq > lastSeq) target.event(handle, event)
  }

  /** The connection went away: keep observing and buffering until resumed or expired. */
  detach(now: number): void {
    this.target = undefined
    this.detachedAt = now
  }

  /** A watch still attached to a closed target counts as detached from now (its resume window starts). */
  sweepOrphan(now: number): void {
    if (this.target?.isClosed === true) this.detach(now)
  }

  /** Whether `target` holds this watch under `handle`. */
  heldBy(target: WatchTarget, handle: number): boolean {
    return this.target === target && this.handle === handle
  }

  /** Ends the watch for good. */
  close(): void {
    this.target = undefined
    this.watch.close()
    this.registry.forget(this)
  }
}

/** Every watch of a server, by id; detached watches expire after `resumeMs`. */
export class WatchRegistry {
  private readonly watches = new Map<string, ServerWatch>()
  private sweeper: NodeJS.Timeout | undefined

  constructor(
    private readonly resumeMs: number,
    private readonly replay: number,
  ) {}

  /** Starts a watch on `view` for `session`. */
  start(session: Session, view: KVStore): ServerWatch {
    const watch = new ServerWatch(session, view, this.replay, this)
    this.watches.set(watch.id, watch)
    this.startSweeper()
    return watch
  }

  /** The watch `id`, if `session` names the context that started it. */
  find(id: string, session: Session): ServerWatch {
    const watch = this.watches.get(id)
    if (!watch || !sameContext(watch.session, session)) {
      throw new BackendError(
        'the server no longer has this watch (it restarted, or the connection was down longer than its resume window); re-read and watch again',
      )
    }
    return watch
  }

  /** @internal */
  forget(watch: ServerWatch): void {
    this.watches.delete(watch.id)
  }

  /** Ends every watch. */
  closeAll(): void {
    for (const watch of [...this.watches.values()]) watch.close()
    clearInterval(this.sweeper)
    this.sweeper = undefined
  }

  private startSweeper(): void {
    if (this.sweeper) return
    this.sweeper = setInterval(
      () => {
        const now = Date.now()
        for (const watch of [...this.watches.values()]) {
          watch.sweepOrphan(now)
          if (watch.detachedAt !== undefined && now - watch.detachedAt > this.resumeMs) watch.close()
        }
        if (this.watches.size === 0) {
          clearInterval(this.sweeper)
          this.sweeper = undefined
        }
      },
      Math.max(50, Math.min(1000, this.resumeMs / 4)),
    )
    this.sweeper.unref()
  }
}
