import { Writable } from 'node:stream'

/** A slow reader (each chunk is taken a turn of the event loop later) that records what was queued in it. */
export type SlowReader = Writable & {
  /** The most bytes ever queued in the stream right after a write. */
  maxQueued(): number
  /** Bytes it has taken. */
  bytes(): number
}

/** Makes a `SlowReader` with the given buffer size. */
export function slowReader(highWaterMark: number): SlowReader {
  let maxQueued = 0
  let bytes = 0
  const stream = new Writable({
    highWaterMark,
    write(chunk: Buffer, _e, done) {
      bytes += chunk.byteLength
      setImmediate(done)
    },
  }) as SlowReader
  const write = stream.write.bind(stream)
  stream.write = ((...args: Parameters<typeof write>) => {
    const ok = write(...args)
    maxQueued = Math.max(maxQueued, stream.writableLength)
    return ok
  }) as typeof write
  stream.maxQueued = () => maxQueued
  stream.bytes = () => bytes
  return stream
}
