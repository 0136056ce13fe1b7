/**
 * Little-endian byte writer and reader for protocol frames (see packages/server/PROTOCOL.md, "Primitive types").
 * Strings are UTF-8 with a u32 byte length; byte fields are a u32 length then the raw bytes, never re-encoded.
 */

const encoder = new TextEncoder()
// ignoreBOM: a leading U+FEFF is part of the string (a key '\uFEFFa' is not the key 'a'); the default strips it.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** A malformed frame: a field runs past the end, a string is not UTF-8, a tag is unknown. */
export class FrameError extends Error {}

/** Builds one frame; grows as needed. */
export class FrameWriter {
  private buffer: Uint8Array
  private view: DataView
  private offset = 0

  constructor(size = 256) {
    this.buffer = new Uint8Array(size)
    this.view = new DataView(this.buffer.buffer)
  }

  /** Bytes written so far. */
  get length(): number {
    return this.offset
  }

  private reserve(bytes: number): void {
    if (this.offset + bytes <= this.buffer.length) return
    let size = this.buffer.length * 2
    while (size < this.offset + bytes) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buffer.subarray(0, this.offset))
    this.buffer = next
    this.view = new DataView(next.buffer)
  }

  /** One unsigned byte. */
  u8(value: number): this {
    this.reserve(1)
    this.buffer[this.offset++] = value
    return this
  }

  /** An unsigned 32-bit integer. */
  u32(value: number): this {
    this.reserve(4)
    this.view.setUint32(this.offset, value, true)
    this.offset += 4
    return this
  }

  /** A 64-bit IEEE 754 float (numbers, counts, times). */
  f64(value: number): this {
    this.reserve(8)
    this.view.setFloat64(this.offset, value, true)
    this.offset += 8
    return this
  }

  /** A UTF-8 string with a u32 byte length. */
  str(value: string): this {
    // Worst case 3 bytes per UTF-16 unit.
    this.reserve(4 + value.length * 3)
    const { written } = encoder.encodeInto(value, this.buffer.subarray(this.offset + 4))
    this.view.setUint32(this.offset, written, true)
    this.offset += 4 + written
    return this
  }

  /** Raw bytes with a u32 length. */
  bytes(value: Uint8Array): this {
    this.reserve(4 + value.byteLength)
    this.view.setUint32(this.offset, value.byteLength, true)
    this.buffer.set(value, this.offset + 4)
    this.offset += 4 + value.byteLength
    return this
  }

  /** A scope path: u8 segment count, then each segment as a string. */
  path(segments: readonly string[]): this {
    this.u8(segments.length)
    for (const segment of segments) this.str(segment)
    return this
  }

  /** The frame written so far (a view, valid until the next write). */
  finish(): Uint8Array {
    return this.buffer.subarray(0, this.offset)
  }
}

/** Reads one frame; every read checks bounds and throws `FrameError` past the end. */
export class FrameReader {
  private readonly view: DataView
  private offset = 0

  constructor(private readonly buffer: Uint8Array) {
    this.view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength)
  }

  /** Whether every byte was read. */
  get done(): boolean {
    return this.offset === this.buffer.byteLength
  }

  private need(bytes: number): void {
    if (this.offset + bytes > this.buffer.byteLength) throw new FrameError('frame is truncated')
  }

  /** One unsigned byte. */
  u8(): number {
    this.need(1)
    return this.buffer[this.offset++]!
  }

  /** An unsigned 32-bit integer. */
  u32(): number {
    this.need(4)
    const value = this.view.getUint32(this.offset, true)
    this.offset += 4
    return value
  }

  /** A 64-bit float. */
  f64(): number {
    this.need(8)
    const value = this.view.getFloat64(this.offset, true)
    this.offset += 8
    return value
  }

  /** A UTF-8 string; malformed UTF-8 is a `FrameError`. */
  str(): string {
    const length = this.u32()
    this.need(length)
    const start = this.offset
    this.offset += length
    try {
      return decoder.decode(this.buffer.subarray(start, this.offset))
    } catch {
      throw new FrameError('a string field is not valid UTF-8')
    }
  }

  /** Raw bytes (a copy, so the frame's buffer can be released). */
  bytes(): Uint8Array {
    const length = this.u32()
    this.need(length)
    const start = this.offset
    this.offset += length
    return this.buffer.slice(start, this.offset)
  }

  /** A scope path. */
  path(): string[] {
    const count = this.u8()
    const segments: string[] = []
    for (let i = 0; i < count; i++) segments.push(this.str())
    return segments
  }

  /** Throws unless the whole frame was read. */
  end(): void {
    if (!this.done) throw new FrameError('frame has trailing bytes')
  }
}
