import { isUtf8 } from 'node:buffer'
import type { IncomingMessage } from 'node:http'
import { badRequest, HttpError } from './plugin.js'

/**
 * Reading what a request carries: header values and JSON text as UTF-8, and bodies within a size limit, a host-wide
 * budget and an idle timeout.
 */

/**
 * A header's value decoded as UTF-8; undefined when absent or empty. Node hands header bytes over as Latin-1, so
 * `x-user: ålice` sent by curl (UTF-8 bytes) would otherwise arrive as `Ã¥lice`; bytes that are not UTF-8 (e.g. a
 * lone Latin-1 `å`) are refused with 400, so every client names a user the same way. A header sent twice is refused
 * too (Node would join the values into one, `alice, bob`, a user nobody named).
 */
export function utf8Header(req: IncomingMessage, name: string): string | undefined {
  const values = req.headersDistinct[name]
  if (values !== undefined && values.length > 1) throw badRequest(`the ${name} header is sent more than once`)
  const raw = values?.[0]
  if (raw === undefined || raw === '') return undefined
  const bytes = Buffer.from(raw, 'latin1')
  if (!isUtf8(bytes)) throw badRequest(`the ${name} header is not UTF-8; send UTF-8 bytes (curl and browsers do)`)
  return bytes.toString('utf8')
}

/** A body's text as UTF-8; 400 when its bytes are not UTF-8 (rather than turning them into U+FFFD). */
export function utf8Body(bytes: Buffer): string {
  if (!isUtf8(bytes)) throw badRequest('the request body is not UTF-8')
  return bytes.toString('utf8')
}

/** A path segment, percent-decoded as UTF-8; 400 when the escapes are malformed or not UTF-8 (`%zz`, `%ED%A0%80`). */
export function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    throw badRequest(`path segment ${JSON.stringify(segment)} is not valid UTF-8 percent-encoding`)
  }
}

/** Bytes of request bodies being read at once, across all requests: a cap on what uploads hold in memory. */
export class BodyBudget {
  private used = 0
  /** @param limit bytes all bodies being read may hold together */
  constructor(readonly limit: number) {}

  /** Takes `bytes` from the budget; false when that would exceed it. */
  take(bytes: number): boolean {
    if (this.used + bytes > this.limit) return false
    this.used += bytes
    return true
  }

  /** Returns bytes taken earlier. */
  give(bytes: number): void {
    this.used -= bytes
  }
}

/**
 * Reads the body once (later calls get the same bytes), refusing more than `limit` bytes with 413 and answering
 * 503 `BUSY` when the bodies being read by all requests would exceed `budget`. A declared `content-length` over
 * `limit` is refused before anything is read; the budget is taken as bytes arrive (a client that declares 4 MiB and
 * sends one byte holds one byte of it), and held only while the body is read. A body that stalls, no bytes for
 * `idleMs`, gets 408. Refusing stops reading without destroying the request, so the client gets its 413, 503 or
 * 408 (the host then closes the connection) instead of a reset.
 */
export function bodyReader(
  req: IncomingMessage,
  limit: number,
  budget: BodyBudget,
  idleMs: number,
): () => Promise<Buffer> {
  let read: Promise<Buffer> | undefined
  return () => {
    read ??= new Promise<Buffer>((resolve, reject) => {
      const declared = Number(req.headers['content-length'])
      if (declared > limit) return reject(tooLarge(limit))
      const chunks: Buffer[] = []
      let size = 0
      let timer: NodeJS.Timeout | undefined
      const arm = () => {
        clearTimeout(timer)
        timer = setTimeout(
          () => finish(new HttpError(408, 'REQUEST_TIMEOUT', `the request body stalled for ${idleMs} ms`)),
          idleMs,
        )
      }
      const finish = (error?: unknown) => {
        clearTimeout(timer)
        req.off('data', onData).off('end', onEnd).off('error', finish).off('close', onClose)
        budget.give(size)
        if (error === undefined) return resolve(Buffer.concat(chunks, size))
        // Stop reading what nobody will use; the connection is closed after the reply.
        req.pause()
        reject(error)
      }
      const onData = (chunk: Buffer) => {
        if (size + chunk.byteLength > limit) return finish(tooLarge(limit))
        if (!budget.take(chunk.byteLength)) {
          return finish(new HttpError(503, 'BUSY', 'too many uploads are being received at once; retry shortly'))
        }
        size += chunk.byteLength
        chunks.push(chunk)
        arm()
      }
      const onEnd = () => finish()
      const onClose = () => {
        if (!req.complete) finish(Object.assign(new Error('the client closed the request'), { code: 'ECONNRESET' }))
      }
      req.on('data', onData).on('end', onEnd).on('error', finish).on('close', onClose)
      arm()
    })
    return read
  }
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, 'PAYLOAD_TOO_LARGE', `the request body is over ${limit} bytes`)
}

/**
 * Whether an error only means the client went away (closed the connection mid-request): nothing to log, no reply.
 * The host's own refusals (`HttpError`: 413, 503, 408) are never that, even when the body was not read to its end.
 */
export function isClientGone(error: unknown, req: IncomingMessage): boolean {
  if (error instanceof HttpError) return false
  const code = (error as { code?: unknown })?.code
  return code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || (req.destroyed && !req.complete)
}
