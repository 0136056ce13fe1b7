import type { ServerResponse } from 'node:http'
import type { ServerEvent } from './plugin.js'

/** How often an idle stream sends a comment, so proxies and clients do not time it out. @default 15000 */
const HEARTBEAT_MS = 15_000

/**
 * Sends `events` as Server-Sent Events until the iterable ends or `signal` aborts (the client left, or the host is
 * shutting down). An error from the iterable is sent as an `error` event before the stream ends.
 */
export async function sendEvents(
  res: ServerResponse,
  events: AsyncIterable<ServerEvent>,
  signal: AbortSignal,
  describeError: (error: unknown) => unknown,
): Promise<void> {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    // The socket is not worth reusing after a stream, and closing it lets a shutting-down server finish at once.
    connection: 'close',
    'x-accel-buffering': 'no',
  })
  res.flushHeaders()
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS)
  heartbeat.unref()
  try {
    for await (const event of events) {
      if (signal.aborted) break
      res.write(format(event))
    }
  } catch (error) {
    if (!signal.aborted) res.write(format({ event: 'error', data: describeError(error) }))
  } finally {
    clearInterval(heartbeat)
    res.end()
  }
}

function format(event: ServerEvent): string {
  let text = ''
  if (event.event) text += `event: ${event.event}\n`
  if (event.id) text += `id: ${event.id}\n`
  // JSON never contains a raw newline, so the data fits one `data:` line.
  return `${text}data: ${JSON.stringify(event.data)}\n\n`
}
