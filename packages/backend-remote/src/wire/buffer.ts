/**
 * Little-endian byte writer and reader for protocol frames (see packages/server/PROTOCOL.md, "Primitive types").
 * Strings are UTF-8 with a u32 byte length; byte fields are a u32 length then the raw bytes, never re-encoded.
 *
 * Both sit on the hot path of every request (a frame is built and read on each side), so they avoid per-frame
 * `ArrayBuffer`s and `DataView`s: a writer starts in Node's pooled `Buffer` slab memory, short ASCII strings (keys,
 * versions, path segments) are copied byte by byte instead of through the UTF-8 codecs.
 */

import { isUtf8 } from 'node:buffer'

/** A malformed frame: a field runs past the end, a string is not UTF-8, a tag is unknown. */
export class FrameError extends Error {}

/** Strings up to this many UTF-16 units are tried as ASCII by a plain loop before the native UTF-8 codecs. */
const SHORT = 48

/** Builds one frame; grows as needed. */
export class FrameWriter {
  private buffer: Buffer
  private offset = 0

  /** `size`: the first guess of the frame's length in bytes. @default 128 */
  constructor(size = 128) {
    // Below 4 KiB this is a slice of Node's shared pool: no ArrayBuffer of its own to allocate and collect.
    this.buffer = Buffer.allocUnsafe(size)
  }

  /** Bytes written so far. */
  get length(): number {
    return this.offset
  }

  private reserve(bytes: number): void {
    if (this.offset + bytes <= this.buffer.length) return
    let size = this.buffer.length * 2
    while (size < this.offset + bytes) size *= 2
    const next = Buffer.allocUnsafe(size)
    this.buffer.copy(next, 0, 0, this.offset)
    this.buffer = next
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
    const b = this.buffer
    let o = this.offset
    b[o++] = value
    b[o++] = value >>> 8
    b[o++] = value >>> 16
    b[o++] = value >>> 24
    this.offset = o
    return this
  }

  /** A 64-bit IEEE 754 float (numbers, counts, times). */
  f64(value: number): this {
    this.reserve(8)
    this.buffer.writeDoubleLE(value, this.offset)
    this.offset += 8
    return this
  }

  /** A UTF-8 string with a u32 byte length (lone surrogates become U+FFFD, as with `TextEncoder`). */
  str(value: string): this {
    const length = value.length
    // Worst case 3 bytes per UTF-16 unit.
    this.reserve(4 + length * 3)
    const b = this.buffer
    const start = this.offset + 4
    if (length <= SHORT) {
      let i = 0
      for (; i < length; i++) {
        const c = value.charCodeAt(i)
        if (c >= 0x80) break
        b[start + i] = c
      }
      if (i === length) return this.u32(length).skip(length)
    }
    const written = b.write(value, start, 'utf8')
    return this.u32(written).skip(written)
  }

  /** Raw bytes with a u32 length. */
  bytes(value: Uint8Array): this {
    this.reserve(4 + value.byteLength)
    this.u32(value.byteLength)
    this.buffer.set(value, this.offset)
    this.offset += value.byteLength
    return this
  }

  /** A scope path: u8 segment count, then each segment as a string. */
  path(segments: readonly string[]): this {
    this.u8(segments.length)
    for (const segment of segments) this.str(segment)
    return this
  }

  /** The frame written so far (a view of the writer's memory: the writer must not be used afterwards). */
  finish(): Buffer {
    return this.buffer.subarray(0, this.offset)
  }

  private skip(bytes: number): this {
    this.offset += bytes
    return this
  }
}

/** Reads one frame; every read checks bounds and throws `FrameError` past the end. */
export class FrameReader {
  private readonly buffer: Buffer
  private offset = 0

  constructor(buffer: Uint8Array) {
    this.buffer = Buffer.isBuffer(buffer) ? buffer : Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength)
  }

  /** Whether every byte was read. */
  get done(): boolean {
    return this.offset === this.buffer.length
  }

  private need(bytes: number): void {
    if (this.offset + bytes > this.buffer.length) throw new FrameError('frame is truncated')
  }

  /** One unsigned byte. */
  u8(): number {
    this.need(1)
    return this.buffer[this.offset++]!
  }

  /** An unsigned 32-bit integer. */
  u32(): number {
    this.need(4)
    const b = this.buffer
    const o = this.offset
    this.offset = o + 4
    return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000
  }

  /** A 64-bit float. */
  f64(): number {
    this.need(8)
    const value = this.buffer.readDoubleLE(this.offset)
    this.offset += 8
    return value
  }

  /** A UTF-8 string; malformed UTF-8 is a `FrameError`. */
  str(): string {
    const length = this.u32()
    this.need(length)
    const b = this.buffer
    const start = this.offset
    const end = start + length
    this.offset = end
    if (length <= SHORT) {
      let ascii = true
      for (let i = start; i < end; i++) {
        if (b[i]! >= 0x80) {
          ascii = false
          break
        }
      }
      if (ascii) return b.toString('latin1', start, end)
    }
    if (!isUtf8(b.subarray(start, end))) throw new FrameError('a string field is not valid UTF-8')
    // Buffer's UTF-8 decoding keeps a leading U+FEFF (a key '\uFEFFa' is not the key 'a'; TextDecoder would strip it
    // unless told ignoreBOM). The ASCII path above never sees one: its bytes EF BB BF are not ASCII.
    return b.toString('utf8', start, end)
  }

  /**
   * Raw bytes, copied so the frame's memory can be released. `owned` (for values a store keeps) gives them memory
   * of their own (the default); otherwise (values decoded right away) the copy may share Node's pooled slab memory.
   */
  bytes(owned = true): Uint8Array {
    const length = this.u32()
    this.need(length)
    const start = this.offset
    this.offset += length
    const copy = owned ? new Uint8Array(length) : Buffer.allocUnsafe(length)
    this.buffer.copy(copy, 0, start, this.offset)
    return copy
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
