import type { ServerResponse } from 'node:http'
import type { ServerEvent } from './plugin.js'

/** How often an idle stream sends a comment, so proxies and clients do not time it out. @default 15000 */
const HEARTBEAT_MS = 15_000

/**
 * Sends `events` as Server-Sent Events until the iterable ends or `signal` aborts (the client left, or the host is
 * shutting down). An error from the iterable is sent as an `error` event before the stream ends.
 *
 * Back-pressure: when the client reads slower than events come, the next event waits for the socket to drain, so
 * the host never buffers more than one event per stream. Meanwhile the watch behind `events` buffers them (core's
 * `maxBuffered`); a client that stays too slow gets the watch's overflow as an `error` event, and the stream ends.
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
  // A heartbeat is only useful on an idle stream: skip it while the client has not read what was sent.
  const heartbeat = setInterval(() => {
    if (!res.writableNeedDrain) res.write(': keep-alive\n\n')
  }, HEARTBEAT_MS)
  heartbeat.unref()
  try {
    for await (const event of events) {
      if (signal.aborted) break
      if (!res.write(format(event))) await drained(res, signal)
    }
  } catch (error) {
    if (!signal.aborted) res.write(format({ event: 'error', data: describeError(error) }))
  } finally {
    clearInterval(heartbeat)
    res.end()
  }
}

/** Resolves when `res` drains, closes, or `signal` aborts. */
function drained(res: ServerResponse, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done)
      res.off('close', done)
      signal.removeEventListener('abort', done)
      resolve()
    }
    res.on('drain', done)
    res.on('close', done)
    signal.addEventListener('abort', done)
    if (signal.aborted || res.destroyed) done()
  })
}

function format(event: ServerEvent): string {
  let text = ''
  if (event.event) text += `event: ${event.event}\n`
  if (event.id) text += `id: ${event.id}\n`
  // JSON never contains a raw newline, so the data fits one `data:` line.
  return `${text}data: ${JSON.stringify(event.data)}\n\n`
}
