import type WebSocket from 'ws'

/** Bytes corked in one turn before they are let out early, so the peer can start on them while more are built. */
const FLUSH_BYTES = 64 * 1024

/**
 * Sends frames on one WebSocket. The first frame of a burst leaves at once (a lone call pays no extra latency);
 * later frames of the same burst (a `Promise.all` of calls, or their answers) are corked and leave together when the
 * burst ends, or once 64 KiB are waiting, instead of one system call each. A burst ends when the microtasks queued
 * while it ran have run (`queueMicrotask`, cheaper than an `Immediate` per request and per answer).
 */
export class FrameSender {
  /** 0: nothing sent this turn; 1: one frame sent; 2: corked. */
  private state = 0
  private corked = 0
  private readonly socket: { cork(): void; uncork(): void } | undefined
  private readonly endTurn = () => {
    if (this.state === 2) this.socket!.uncork()
    this.state = 0
  }

  constructor(private readonly ws: WebSocket) {
    this.socket = (ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket
  }

  /** Sends one binary frame. */
  send(frame: Uint8Array): void {
    if (this.state === 0) {
      this.state = 1
      queueMicrotask(this.endTurn)
    } else if (this.state === 1 && this.socket) {
      this.state = 2
      this.corked = 0
      this.socket.cork()
    } else if (this.state === 2) {
      this.corked += frame.byteLength
      if (this.corked >= FLUSH_BYTES) {
        this.socket!.uncork()
        this.socket!.cork()
        this.corked = 0
      }
    }
    this.ws.send(frame, { binary: true })
  }
}
