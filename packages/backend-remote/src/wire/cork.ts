import type WebSocket from 'ws'

/** Sockets that sent a frame in the current event-loop turn: 1 = sent one, 2 = corked for the rest of the turn. */
const turn = new WeakMap<WebSocket, 1 | 2>()

/**
 * Sends a frame. The first frame of an event-loop turn leaves at once (a lone call pays no extra latency); later
 * frames of the same turn (a `Promise.all` of calls, or their answers) are corked and leave together in one write
 * when the turn ends (`setImmediate`), instead of one system call each.
 */
export function sendCorked(ws: WebSocket, frame: Uint8Array): void {
  const state = turn.get(ws)
  if (state === undefined) {
    turn.set(ws, 1)
    setImmediate(() => turn.delete(ws))
  } else if (state === 1) {
    const socket = (ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket
    if (socket) {
      turn.set(ws, 2)
      socket.cork()
      setImmediate(() => socket.uncork())
    }
  }
  ws.send(frame)
}
