import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Codec } from '../src/codec/codec.js'
import { engineOf } from '../src/cubby.js'
import { openCubby, SerializationError } from '../src/index.js'
import { rawScope } from '../src/raw/index.js'

/*
 * Adversarial tests of this round's codec changes: long text written and read as latin1 when it is ASCII (the
 * 512-character boundary), and one snapshot walker reused per codec (re-entrant encodes from getters, throws, shared
 * objects and cycles past the 32 objects a walk tracks in arrays).
 */

const HEADER_J = '\x01j'
const HEADER_S = '\x01s'

/** The bytes the codec wrote before this round for a text kind: header + text as UTF-8, in one conversion. */
const reference = (header: string, text: string) => Buffer.from(header + text, 'utf8')

/** Pieces that make JSON text ASCII or not, wide or narrow in UTF-8, escaped or not. */
const piece = fc.constantFrom(
  'a',
  'Z',
  ' ',
  '~',
  '\u007f',
  '\u0080',
  'é',
  'ÿ',
  '€',
  '\u2028',
  '\uFFFF',
  '😀',
  '𝄞',
  '\u0000',
  '"',
  '\\',
  '\n',
  '\uD800', // lone surrogates: JSON.stringify escapes them
  '\uDFFF',
)

/** A string whose JSON text is `target` UTF-16 units long (give or take the last piece), made of `pieces` + padding. */
function sized(pieces: string[], target: number, pad: string): string {
  let text = pieces.join('')
  while (JSON.stringify(text).length < target) text += pad
  return text
}

describe('codec: long text and the 512-character boundary', () => {
  const codec = new Codec()

  it('writes exactly the UTF-8 of header + JSON text, and reads it back, around the boundary', () => {
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 12 }),
        fc.integer({ min: 495, max: 530 }),
        fc.constantFrom('a', 'é', '😀', '\u0000'),
        fc.boolean(),
        (pieces, target, pad, atEnd) => {
          const text = atEnd
            ? sized([], target - pieces.join('').length, pad) + pieces.join('')
            : sized(pieces, target, pad)
          for (const value of [text, { text }, [text, 1, true, null]]) {
            const bytes = Buffer.from(codec.encode(value))
            expect(bytes.equals(reference(HEADER_J, JSON.stringify(value)))).toBe(true)
            expect(codec.decode(bytes)).toStrictEqual(value)
          }
          // The superjson kind goes through the same text writer.
          const rich = { text, when: new Date(0) }
          const richBytes = Buffer.from(codec.encode(rich))
          expect(richBytes.subarray(0, 2).toString('latin1')).toBe(HEADER_S)
          expect(richBytes.subarray(2).toString('utf8')).toBe(JSON.stringify(JSON.parse(richBytes.toString('utf8', 2))))
          expect(codec.decode(richBytes)).toStrictEqual(rich)
        },
      ),
      { numRuns: 600 },
    )
  })

  it('writes one non-ASCII character at every place of a long ASCII text correctly', () => {
    for (const wide of ['é', '€', '😀', '\u0080', '\u07ff', '\u0800']) {
      for (const length of [509, 510, 511, 512, 513, 514, 600]) {
        for (const at of [0, 1, length >> 1, length - 2, length - 1]) {
          const text = 'a'.repeat(at) + wide + 'a'.repeat(Math.max(0, length - at - 1))
          const bytes = Buffer.from(codec.encode(text))
          expect(bytes.equals(reference(HEADER_J, JSON.stringify(text)))).toBe(true)
          expect(codec.decode(bytes)).toBe(text)
        }
      }
    }
  })

  it('reads non-ASCII text of stored values whatever their length, from buffers that are views of larger ones', () => {
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 8 }),
        fc.integer({ min: 400, max: 1100 }),
        fc.nat(64),
        (pieces, target, offset) => {
          const value = { text: sized(pieces, target, 'é'), n: 1 }
          const bytes = reference(HEADER_J, JSON.stringify(value))
          const slab = Buffer.alloc(offset + bytes.length + 7, 0xc3) // non-ASCII around the view
          bytes.copy(slab, offset)
          expect(codec.decode(slab.subarray(offset, offset + bytes.length))).toStrictEqual(value)
        },
      ),
      { numRuns: 300 },
    )
  })

  it('round-trips long text through a real cubby exactly, with usage counting the exact bytes', async () => {
    const cubby = await openCubby({ url: 'memory:' })
    const view = cubby.scope('w', 'p')
    await fc.assert(
      fc.asyncProperty(
        fc.array(piece, { maxLength: 10 }),
        fc.integer({ min: 500, max: 525 }),
        async (pieces, target) => {
          const text = sized(pieces, target, 'a')
          await view.set('k', text)
          expect(await view.get('k')).toBe(text)
          const [row] = await rawScope(view).get(['k'])
          expect(Buffer.from(row!.value!).equals(reference(HEADER_J, JSON.stringify(text)))).toBe(true)
        },
      ),
      { numRuns: 200 },
    )
    await cubby.close()
  })
})

describe('codec: one walker per codec', () => {
  it('lets a getter store another value on the same cubby during the walk', async () => {
    const cubby = await openCubby({ url: 'memory:' })
    const view = cubby.scope('w', 'p')
    const codec = engineOf(cubby)!.codec
    const inner = { deep: Array.from({ length: 40 }, (_, i) => ({ i })), when: new Date(5) }
    let nested: Promise<string> | undefined
    const tail = Array.from({ length: 40 }, (_, i) => ({ t: i }))
    const outer = {
      head: Array.from({ length: 40 }, (_, i) => ({ h: i })),
      get middle() {
        nested = view.set('inner', inner)
        // ...and a nested encode that fails, caught by the getter
        try {
          codec.encode({ f: () => 1 })
        } catch {}
        return 'm'
      },
      tail,
      again: tail, // shared, after the getter ran
    }
    await view.set('outer', outer)
    await nested
    expect(await view.get('outer')).toStrictEqual({
      head: outer.head,
      middle: 'm',
      tail,
      again: tail,
    })
    expect(await view.get('inner')).toStrictEqual(inner)
    await cubby.close()
  })

  it('keeps the outer walk whole when a getter encodes plain values, the value itself, or fails, mid-walk', () => {
    const codec = new Codec()
    for (const nestedSize of [0, 5, 40]) {
      let inGetter = false
      const nested: Buffer[] = []
      const shared = { shared: true }
      const outer: Record<string, unknown> = {
        when: new Date(7), // rich before the getter: the outer walk must still know it is rich
        head: Array.from({ length: 20 }, (_, i) => ({ h: i, shared })),
        get middle() {
          if (!inGetter) {
            inGetter = true
            nested.push(Buffer.from(codec.encode({ plain: Array.from({ length: nestedSize }, (_, i) => ({ i })) })))
            nested.push(Buffer.from(codec.encode(outer))) // the value being walked, from the start
            nested.push(Buffer.from(codec.encode(shared)))
            expect(() => codec.encode({ f: () => 1 })).toThrow(SerializationError)
            inGetter = false
          }
          return 'm'
        },
        tail: Array.from({ length: 20 }, (_, i) => ({ t: i, shared })),
      }
      outer.self = outer // a cycle back to the root, after the getter
      const back = codec.decode(codec.encode(outer)) as Record<string, unknown>
      expect(back.when).toStrictEqual(new Date(7))
      expect(back.self).toBe(back)
      expect(back.middle).toBe('m')
      expect(back.head).toStrictEqual(outer.head)
      expect(back.tail).toStrictEqual(outer.tail)
      expect(codec.decode(nested[0]!)).toStrictEqual({ plain: Array.from({ length: nestedSize }, (_, i) => ({ i })) })
      const again = codec.decode(nested[1]!) as Record<string, unknown>
      expect(again.self).toBe(again)
      expect(again.when).toStrictEqual(new Date(7))
      expect(again.middle).toBe('m')
      expect(again.tail).toStrictEqual(outer.tail)
      expect(nested[2]!.toString('latin1')).toBe(`${HEADER_J}{"shared":true}`)
    }
  })

  it('keeps a getter that throws from leaving the walker busy or holding objects', async () => {
    const cubby = await openCubby({ url: 'memory:' })
    const view = cubby.scope('w', 'p')
    const shared = { s: 1 }
    const bad = {
      list: Array.from({ length: 50 }, () => shared),
      get boom(): never {
        throw new Error('getter failed')
      },
    }
    await expect(view.set('bad', bad)).rejects.toBeInstanceOf(SerializationError)
    expect(await view.has('bad')).toBe(false)
    // The next walks see nothing of the failed one: `shared` is a fresh object to them, and no cycle is assumed.
    const next = { a: shared, b: shared, c: [shared] }
    await view.set('next', next)
    expect(await view.get('next')).toStrictEqual({ a: { s: 1 }, b: { s: 1 }, c: [{ s: 1 }] })
    const [row] = await rawScope(view).get(['next'])
    expect(Buffer.from(row!.value!).toString('latin1', 0, 2)).toBe(HEADER_J) // plain JSON: nothing rich was seen
    await cubby.close()
  })

  it('forgets a failed walk entirely: objects it was inside are not taken for a cycle by the next walk', () => {
    const codec = new Codec()
    let fail = true
    const x = {
      get v() {
        if (fail) {
          fail = false
          throw new Error('first read fails')
        }
        return 1
      },
    }
    expect(() => codec.encode({ deep: { x } })).toThrow(SerializationError)
    // x was being copied when the walk failed; met twice now, it is shared, not a cycle: still plain JSON.
    const bytes = Buffer.from(codec.encode({ a: x, b: x }))
    expect(bytes.toString('latin1')).toBe(`${HEADER_J}{"a":{"v":1},"b":{"v":1}}`)
    // and many failed walks do not add up to "nested too deep"
    const failing = {
      get v(): never {
        throw new Error('always fails')
      },
    }
    let value: unknown = failing
    for (let i = 0; i < 20; i++) value = { value }
    for (let i = 0; i < 200; i++) expect(() => codec.encode(value)).toThrow(/always fails/)
    let deep: unknown = 1
    for (let i = 0; i < 50; i++) deep = { deep }
    expect(codec.decode(codec.encode(deep))).toStrictEqual(deep)
  })

  it('does not carry objects or copies from one walk into the next', () => {
    const codec = new Codec()
    const shared = { s: 1 }
    for (const size of [1, 31, 32, 33, 100]) {
      shared.s = size
      const value = { list: Array.from({ length: size }, () => ({ shared })) }
      codec.encode(value)
      shared.s = -size // changed between walks: the next encode must read it again
      expect(codec.decode(codec.encode(value))).toStrictEqual(value)
      expect(codec.decode(codec.encode(shared))).toStrictEqual({ s: -size })
    }
  })

  it('leaves its reused walker idle and empty after every walk, failed or not (else each later encode pays for it)', () => {
    const codec = new Codec()
    const walker = (codec as unknown as { walker: { busy: boolean; count: number; seen: unknown } }).walker
    expect(walker.busy).toBe(false) // the field this test watches is there
    const values: unknown[] = [
      { a: 1 },
      Array.from({ length: 40 }, (_, i) => ({ i })),
      {
        get boom(): never {
          throw new Error('fails')
        },
      },
      { f: () => 1 },
    ]
    for (const value of values) {
      try {
        codec.encode(value)
      } catch (error) {
        expect(error).toBeInstanceOf(SerializationError)
      }
      expect(walker.busy).toBe(false)
      expect(walker.count).toBe(0)
      expect(walker.seen).toBeUndefined()
    }
  })

  it('keeps shared objects and cycles right past 32 objects, at every size around the switch', () => {
    const codec = new Codec()
    for (let n = 28; n <= 36; n++) {
      // a chain of n objects whose last points back to the first
      const nodes = Array.from({ length: n }, (_, i) => ({ i, next: undefined as unknown }))
      for (let i = 0; i < n; i++) nodes[i]!.next = nodes[(i + 1) % n]
      const back = codec.decode(codec.encode({ head: nodes[0] })) as { head: { i: number; next: unknown } }
      let at = back.head
      for (let i = 0; i < n; i++) {
        expect(at.i).toBe(i)
        at = at.next as typeof at
      }
      expect(at).toBe(back.head)
      // a shared object met first, then again after n other objects: repeated, not a cycle, plain JSON
      const shared = { s: n }
      const value = { first: shared, others: Array.from({ length: n }, (_, i) => ({ i })), last: shared }
      const bytes = Buffer.from(codec.encode(value))
      expect(bytes.toString('latin1', 0, 2)).toBe(HEADER_J)
      expect(codec.decode(bytes)).toStrictEqual(value)
      // a shared object met again after the switch, inside a cycle
      const cyc: Record<string, unknown> = { others: Array.from({ length: n }, (_, i) => ({ i, shared })) }
      cyc.self = cyc
      const out = codec.decode(codec.encode(cyc)) as { self: unknown; others: { shared: unknown }[] }
      expect(out.self).toBe(out)
      expect(out.others[0]!.shared).toStrictEqual({ s: n })
    }
  })
})
