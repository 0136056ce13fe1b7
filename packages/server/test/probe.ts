import { FrameReader, FrameWriter, Kind, Op, readError, SUBPROTOCOL } from '@cubby/backend-remote/wire'
import WebSocket from 'ws'

/** An answer to one request, as raw as it came. */
export interface Answer {
  kind: number
  /** The whole frame (checked for leaked bytes). */
  frame: Buffer
  reader: FrameReader
  code?: string
}

/**
 * A hostile client speaking the wire protocol directly (no client-side checks): sends any relative path, key or
 * op, and records every frame the server sends.
 */
export class Probe {
  private nextId = 1
  private readonly waiting = new Map<number, (answer: Answer) => void>()
  /** Every EVENT frame received. */
  readonly events: Buffer[] = []

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      const r = new FrameReader(data)
      const kind = r.u8()
      const id = r.u32()
      if (kind === Kind.EVENT || kind === Kind.WATCH_END) {
        this.events.push(data)
        return
      }
      const resolve = this.waiting.get(id)
      if (!resolve) return
      this.waiting.delete(id)
      resolve(
        kind === Kind.ERROR
          ? { kind, frame: data, reader: r, code: readError(r).code }
          : { kind, frame: data, reader: r },
      )
    })
  }

  /** Connects and waits for HELLO. */
  static async open(port: number, options: WebSocket.ClientOptions = {}): Promise<Probe> {
    const socket = new WebSocket(`ws://127.0.0.1:${port}`, SUBPROTOCOL, options)
    await new Promise<void>((resolve, reject) => {
      socket.once('message', () => resolve())
      socket.once('error', reject)
    })
    return new Probe(socket)
  }

  /** Sends a request and waits for its answer (10 s at most). */
  send(op: number, session: number, body: (w: FrameWriter) => void = () => {}): Promise<Answer> {
    const id = this.nextId++
    const w = new FrameWriter()
    w.u8(op).u32(id).u32(session)
    body(w)
    return new Promise<Answer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to op ${op}`)), 10_000)
      this.waiting.set(id, (answer) => {
        clearTimeout(timer)
        resolve(answer)
      })
      this.socket.send(w.finish())
    })
  }

  /** Sends a request under a chosen request `id` (which may repeat) and waits for its answer (10 s at most). */
  sendAs(id: number, op: number, session: number, body: (w: FrameWriter) => void = () => {}): Promise<Answer> {
    const w = new FrameWriter()
    w.u8(op).u32(id).u32(session)
    body(w)
    return new Promise<Answer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to op ${op}`)), 10_000)
      const previous = this.waiting.get(id)
      this.waiting.set(id, (answer) => {
        clearTimeout(timer)
        if (previous) this.waiting.set(id, previous)
        resolve(answer)
      })
      this.socket.send(w.finish())
    })
  }

  /** Authenticates `session` with `token`; resolves to the error code, or undefined when accepted. */
  async auth(session: number, token: string): Promise<string | undefined> {
    return (await this.send(Op.AUTH, session, (w) => w.str(token))).code
  }

  close(): void {
    this.socket.terminate()
  }
}
