import { FrameError, FrameReader, FrameWriter } from '@cubby/backend-remote/wire'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'

describe('wire primitives', () => {
  it('round-trips strings (ASCII, long, non-ASCII, astral), u8, u32, f64 and bytes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.string(), fc.string({ unit: 'binary', maxLength: 80 }), fc.string({ minLength: 60 }))),
        fc.integer({ min: 0, max: 0xffff_ffff }),
        fc.double(),
        fc.uint8Array({ maxLength: 300 }),
        (strings, n, x, bytes) => {
          const w = new FrameWriter(1)
          for (const s of strings) w.str(s)
          w.u32(n).f64(x).bytes(bytes).u8(7)
          const r = new FrameReader(w.finish())
          // Lone surrogates become U+FFFD, as with TextEncoder.
          for (const s of strings) expect(r.str()).toBe(new TextDecoder().decode(new TextEncoder().encode(s)))
          expect(r.u32()).toBe(n)
          expect(Object.is(r.f64(), x)).toBe(true)
          expect(r.bytes()).toEqual(bytes)
          expect(r.u8()).toBe(7)
          r.end()
        },
      ),
    )
  })

  it('refuses malformed UTF-8 and truncated fields with FrameError', () => {
    for (const body of [[0xc3, 0x28], [0xed, 0xa0, 0x80], [0xff], [0x61, 0x80]]) {
      const frame = new Uint8Array([body.length, 0, 0, 0, ...body])
      expect(() => new FrameReader(frame).str()).toThrow(FrameError)
    }
    expect(() => new FrameReader(new Uint8Array([5, 0, 0, 0, 0x61])).str()).toThrow(FrameError)
    expect(() => new FrameReader(new Uint8Array([1, 2])).u32()).toThrow(FrameError)
  })

  it('copies bytes out of the frame, so later changes to the frame do not reach them', () => {
    const frame = Buffer.from(
      new FrameWriter()
        .bytes(new Uint8Array([1, 2, 3]))
        .bytes(new Uint8Array([4]))
        .finish(),
    )
    const r = new FrameReader(frame)
    const owned = r.bytes()
    const pooled = r.bytes(false)
    frame.fill(9)
    expect([...owned]).toEqual([1, 2, 3])
    expect([...pooled]).toEqual([4])
    expect(owned.byteLength).toBe(owned.buffer.byteLength)
  })
})
