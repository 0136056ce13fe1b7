import { BackendError } from '@cubby/core/backend'
import WebSocket from 'ws'
import { FrameReader } from './wire/buffer.js'
import { type Hello, Kind, PROTOCOL_VERSION, readHello, SUBPROTOCOL } from './wire/protocol.js'

/** An open socket and the server's greeting. */
export interface OpenSocket {
  socket: WebSocket
  hello: Hello
}

/**
 * Opens a WebSocket to `url` with the protocol's subprotocol and waits for the server's HELLO, all within
 * `timeoutMs`. Rejects with `BackendError` (unreachable, no HELLO in time, a HELLO of another protocol version);
 * the socket is terminated then. Once greeted, `on.message` gets every later frame, `on.pong` every pong and `on.close`
 * the socket's end (attached before anything else can arrive).
 */
export function openSocket(
  url: string,
  timeoutMs: number,
  on: { message(data: Buffer): void; pong(): void; close(): void },
): Promise<OpenSocket> {
  return new Promise<OpenSocket>((resolve, reject) => {
    let settled = false
    const socket = new WebSocket(url, SUBPROTOCOL, {
      // Values are mostly small and already compact: compression would cost CPU on both sides for every frame.
      perMessageDeflate: false,
      handshakeTimeout: timeoutMs,
      maxPayload: 0x7fff_ffff,
    })
    socket.binaryType = 'nodebuffer'
    const done = () => {
      settled = true
      clearTimeout(timer)
      socket.off('message', greet)
      socket.off('error', onError)
      socket.off('close', onClose)
    }
    const fail = (error: BackendError) => {
      if (settled) return
      done()
      socket.on('error', () => {}) // a late error of the abandoned socket must not go unhandled
      socket.terminate()
      reject(error)
    }
    const timer = setTimeout(
      () => fail(new BackendError(`the server at ${url} did not answer within ${timeoutMs} ms (timeoutMs)`)),
      timeoutMs,
    )
    const onError = (error: Error) =>
      fail(new BackendError(`cannot reach the server at ${url}: ${error.message}`, { cause: error }))
    const onClose = () => fail(new BackendError(`the server at ${url} closed the connection while opening`))
    const greet = (data: Buffer) => {
      let hello: Hello
      try {
        const r = new FrameReader(data)
        if (r.u8() !== Kind.HELLO) throw new Error('expected HELLO')
        r.u32()
        hello = readHello(r)
      } catch (error) {
        fail(new BackendError(`the server at ${url} did not greet with HELLO: ${(error as Error).message}`))
        return
      }
      if (hello.version !== PROTOCOL_VERSION) {
        fail(
          new BackendError(
            `the server at ${url} speaks protocol v${hello.version}; this client speaks v${PROTOCOL_VERSION}`,
          ),
        )
        return
      }
      done()
      socket.on('message', on.message)
      socket.on('pong', on.pong)
      socket.on('close', on.close)
      socket.on('error', () => {}) // always followed by 'close'
      resolve({ socket, hello })
    }
    socket.on('error', onError)
    socket.on('close', onClose)
    socket.on('message', greet)
  })
}
