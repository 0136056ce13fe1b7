import type { Readable } from 'node:stream'
import { StringDecoder } from 'node:string_decoder'

/** Longest line accepted: a 4 MiB value is about 5.6 MB of base64; anything far beyond is not an export. */
const MAX_LINE = 64 * 1024 * 1024

/**
 * The lines of a UTF-8 stream (without `\n` or `\r\n`), read chunk by chunk: the stream is paused while a line is
 * being handled, so memory stays at one chunk plus one line however large the input. `onBytes` reports raw bytes
 * consumed, for a progress bar.
 */
export async function* readLines(input: Readable, onBytes?: (bytes: number) => void): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8')
  let pending = ''
  for await (const chunk of input as AsyncIterable<Buffer | string>) {
    const text = typeof chunk === 'string' ? chunk : decoder.write(chunk)
    onBytes?.(typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength)
    let start = 0
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      const line = pending + text.slice(start, end)
      pending = ''
      start = end + 1
      yield line.endsWith('\r') ? line.slice(0, -1) : line
    }
    pending += text.slice(start)
    if (pending.length > MAX_LINE) throw new Error(`a line is longer than ${MAX_LINE} characters; is this an export?`)
  }
  pending += decoder.end()
  if (pending !== '') yield pending.endsWith('\r') ? pending.slice(0, -1) : pending
}
