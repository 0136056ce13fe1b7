import type pg from 'pg'

interface Corkable {
  cork?(): void
  uncork?(): void
}

/**
 * Runs `send` with the connection's socket corked, so the pipelined statements it issues leave in one write (one
 * system call, one wake-up of the server) instead of one each. `later`: keep it corked until the statements issued
 * in the microtasks that follow are queued too (uncorked by `setImmediate`). Without a socket that can be corked (a
 * driver without one), the statements are sent as they come.
 */
export function corked<T>(client: pg.ClientBase, send: () => T, later = false): T {
  const socket = (client as unknown as { connection?: { stream?: Corkable } }).connection?.stream
  socket?.cork?.()
  try {
    return send()
  } finally {
    if (later) setImmediate(() => socket?.uncork?.())
    else socket?.uncork?.()
  }
}
