import { isUtf8 } from 'node:buffer'
import type { IncomingMessage } from 'node:http'
import { badRequest, HttpError } from './plugin.js'

/**
 * Reading what a request carries: header values as UTF-8, and bodies within a size limit and a host-wide budget.
 */

/**
 * A header's value decoded as UTF-8; undefined when absent or empty. Node hands header bytes over as Latin-1, so
 * `x-user: ålice` sent by curl (UTF-8 bytes) would otherwise arrive as `Ã¥lice`; bytes that are not UTF-8 (e.g. a
 * lone Latin-1 `å`) are refused with 400, so every client names a user the same way.
 */
export function utf8Header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name]
  const raw = Array.isArray(value) ? value[0] : value
  if (raw === undefined || raw === '') return undefined
  const bytes = Buffer.from(raw, 'latin1')
  if (!isUtf8(bytes)) throw badRequest(`the ${name} header is not UTF-8; send UTF-8 bytes (curl and browsers do)`)
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
 * 503 `BUSY` when the bodies being read by all requests would exceed `budget`. A declared `content-length` is
 * checked against both before anything is read; a chunked body takes from the budget as it arrives. The budget is
 * held only while the body is read; the bytes then belong to the handler.
 */
export function bodyReader(req: IncomingMessage, limit: number, budget: BodyBudget): () => Promise<Buffer> {
  let read: Promise<Buffer> | undefined
  return () => {
    read ??= (async () => {
      const declared = Number(req.headers['content-length'])
      if (declared > limit) throw tooLarge(limit)
      let reserved = 0
      const reserve = (bytes: number) => {
        if (!budget.take(bytes)) {
          throw new HttpError(503, 'BUSY', 'too many uploads are being received at once; retry shortly')
        }
        reserved += bytes
      }
      try {
        if (declared > 0) reserve(declared)
        const chunks: Buffer[] = []
        let size = 0
        for await (const chunk of req as AsyncIterable<Buffer>) {
          if (size + chunk.byteLength > limit) throw tooLarge(limit)
          size += chunk.byteLength
          if (size > reserved) reserve(size - reserved)
          chunks.push(chunk)
        }
        return Buffer.concat(chunks, size)
      } finally {
        budget.give(reserved)
      }
    })()
    return read
  }
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, 'PAYLOAD_TOO_LARGE', `the request body is over ${limit} bytes`)
}

/** Whether an error only means the client went away (closed the connection mid-request): nothing to log. */
export function isClientGone(error: unknown, req: IncomingMessage): boolean {
  const code = (error as { code?: unknown })?.code
  return code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || (req.destroyed && !req.complete)
}
