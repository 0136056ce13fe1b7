import type WebSocket from 'ws'

/** The parts of ws's frame receiver (`ws/lib/receiver.js`) that show whether a message is half received. */
interface ReceiverState {
  _bufferedBytes?: unknown
  _fragments?: unknown
}

/**
 * Whether the socket's receiver holds part of a message: bytes of an unfinished frame, or fragments of an
 * unfinished message. Read after ws has parsed a chunk, so a chunk that completes one frame and starts the next is
 * seen as partial. `undefined` when ws's internals are not what this expects (the body timeout then falls back to
 * "data arrived, no message completed since").
 */
export function holdsPartialMessage(socket: WebSocket): boolean | undefined {
  const receiver = (socket as unknown as { _receiver?: ReceiverState | null })._receiver
  if (!receiver || typeof receiver._bufferedBytes !== 'number' || !Array.isArray(receiver._fragments)) return undefined
  return receiver._bufferedBytes > 0 || receiver._fragments.length > 0
}
