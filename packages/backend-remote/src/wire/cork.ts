import type WebSocket from 'ws'

const corked = new WeakSet<WebSocket>()

/**
 * Sends a frame, holding the TCP socket corked until this turn of the event loop ends (setImmediate): frames sent together (a
 * `Promise.all` of calls, or their answers) leave in one write instead of one system call each.
 */
export function sendCorked(ws: WebSocket, frame: Uint8Array): void {
  const socket = (ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket
  if (socket && !corked.has(ws)) {
    corked.add(ws)
    socket.cork()
    setImmediate(() => {
      corked.delete(ws)
      socket.uncork()
    })
  }
  ws.send(frame)
}
