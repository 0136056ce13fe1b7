import { isAscii } from 'node:buffer'
import { SuperJSON } from 'superjson'
import { InvalidConfigError, InvalidValueError } from '../errors.js'
import { asSerializationError, HAS_BYTES, NEEDS_ESCAPE, RICH, Walker } from './classify.js'
import { escapeKeys, unescapeKeys } from './escape.js'
import {
  asBuffer,
  FORMAT_VERSION,
  JSON_HEADER,
  KIND_BYTES,
  KIND_JSON,
  KIND_MIXED,
  KIND_MIXED_ESCAPED,
  KIND_SUPERJSON,
  KIND_SUPERJSON_ESCAPED,
  SUBTYPE_BUFFER,
  SUBTYPE_UINT8ARRAY,
} from './format.js'

/** JSON-compatible data, what a custom type serializes to. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }

/**
 * Teaches a cubby to store instances of a class. Register with `openCubby({ types: [...] })`; every process that
 * reads the data must register the same `name`.
 */
export interface CustomType<T = unknown> {
  /** Stored with each value; must be unique and must never change once data exists. Names starting `cubby:` are reserved. */
  name: string
  /** Whether `value` is one of yours. */
  isApplicable(value: unknown): value is T
  /** To JSON-compatible data. */
  serialize(value: T): JsonValue
  /** Back from what `serialize` returned. */
  deserialize(json: JsonValue): T
}

const BYTES_TYPE = 'cubby:bytes'

/** Encodes values to bytes and back, per the layout in `format.ts`. One per cubby (it holds the custom types). */
export class Codec {
  private readonly superjson = new SuperJSON()
  private readonly isCustom: ((value: object) => boolean) | undefined
  /** Blobs of the value being encoded or decoded; encode/decode are synchronous, so one slot suffices. */
  private blobs: Uint8Array[] = []
  /** What custom types deserialized: opaque to key unescaping (see `escape.ts`). */
  private readonly opaque = new WeakSet<object>()
  /** The walker of `encode`'s snapshots, reused from call to call (one allocation less per value). */
  private readonly walker: Walker

  constructor(types: readonly CustomType[] = []) {
    const seen = new Set<string>()
    for (const [i, type] of types.entries()) {
      if (typeof type?.name !== 'string' || type.name === '' || type.name.startsWith('cubby:') || seen.has(type.name)) {
        throw new InvalidConfigError(
          `types[${i}].name`,
          'must be a unique, non-empty string not starting with "cubby:"',
        )
      }
      for (const fn of ['isApplicable', 'serialize', 'deserialize'] as const) {
        if (typeof type[fn] !== 'function') throw new InvalidConfigError(`types[${i}].${fn}`, 'must be a function')
      }
      seen.add(type.name)
      this.superjson.registerCustom<unknown, JsonValue>(
        {
          isApplicable: type.isApplicable,
          serialize: type.serialize,
          deserialize: (json) => {
            const value = type.deserialize(json)
            if (typeof value === 'object' && value !== null) this.opaque.add(value)
            return value
          },
        },
        type.name,
      )
    }
    this.isCustom = types.length ? (value) => types.some((type) => type.isApplicable(value)) : undefined
    this.walker = new Walker(this.isCustom)
    this.superjson.registerCustom<Uint8Array, number>(
      {
        isApplicable: (value): value is Uint8Array => value instanceof Uint8Array,
        serialize: (bytes) => this.blobs.push(bytes) - 1,
        deserialize: (index) => {
          const blob = this.blobs[index]
          if (!blob) throw new InvalidValueError('stored value is corrupt: it references a missing byte block')
          return blob
        },
      },
      BYTES_TYPE,
    )
  }

  /**
   * Encodes a value, or throws `SerializationError` (also for anything the value throws while being read, such as a
   * getter or a Proxy trap). The value is read once, into a plain copy (see `snapshot`), and the copy is encoded, so
   * what is stored is what was checked even if a getter answers differently on each read.
   */
  encode(value: unknown): Buffer {
    // A getter read by the walk may itself encode a value: that nested call gets a walker of its own.
    const walker = this.walker.busy ? new Walker(this.isCustom) : this.walker
    const copy = walker.run(value)
    const flags = walker.flags
    try {
      if ((flags & (RICH | HAS_BYTES)) === 0) return textBytes(KIND_JSON, JSON.stringify(copy))
      if (copy instanceof Uint8Array) {
        const out = Buffer.allocUnsafe(3 + copy.byteLength)
        out[0] = FORMAT_VERSION
        out[1] = KIND_BYTES
        out[2] = Buffer.isBuffer(copy) ? SUBTYPE_BUFFER : SUBTYPE_UINT8ARRAY
        out.set(copy, 3)
        return out
      }
      const escaped = (flags & NEEDS_ESCAPE) !== 0
      const input = escaped ? escapeKeys(copy, this.isCustom) : copy
      if (!(flags & HAS_BYTES)) {
        return textBytes(escaped ? KIND_SUPERJSON_ESCAPED : KIND_SUPERJSON, this.superjson.stringify(input))
      }
      return this.encodeMixed(input, escaped ? KIND_MIXED_ESCAPED : KIND_MIXED)
    } catch (error) {
      throw asSerializationError(error)
    }
  }

  /** Decodes bytes written by `encode` into a fresh value. */
  decode(stored: Uint8Array): unknown {
    const bytes = asBuffer(stored)
    if (bytes[0] !== FORMAT_VERSION) {
      throw new InvalidValueError(
        `stored value has format version ${bytes[0]}, which this @cubby/core does not know; upgrade @cubby/core`,
      )
    }
    switch (bytes[1]) {
      case KIND_JSON:
        return parseJson(bytes)
      case KIND_SUPERJSON:
        return this.parse(textOf(bytes, 2))
      case KIND_SUPERJSON_ESCAPED:
        return this.unescape(this.parse(textOf(bytes, 2)))
      case KIND_BYTES:
        return copyBytes(bytes, 3, bytes.length, bytes[2]!)
      case KIND_MIXED:
        return this.decodeMixed(bytes)
      case KIND_MIXED_ESCAPED:
        return this.unescape(this.decodeMixed(bytes))
      default:
        throw new InvalidValueError(`stored value has unknown kind byte ${bytes[1]}; it was not written by Cubby`)
    }
  }

  private unescape(value: unknown): unknown {
    unescapeKeys(value, this.opaque)
    return value
  }

  private parse(text: string): unknown {
    try {
      return this.superjson.parse(text)
    } catch (error) {
      throw new InvalidValueError(
        `cannot decode stored value (${(error as Error).message}); if it uses a custom type, register it in openCubby({ types })`,
        { cause: error },
      )
    }
  }

  private encodeMixed(value: unknown, kind: number): Buffer {
    this.blobs = []
    try {
      const json = Buffer.from(this.superjson.stringify(value), 'utf8')
      const blobs = this.blobs
      let size = 2 + 4 + json.length + 4
      for (const blob of blobs) size += 5 + blob.byteLength
      const out = Buffer.allocUnsafe(size)
      out[0] = FORMAT_VERSION
      out[1] = kind
      out.writeUInt32BE(json.length, 2)
      json.copy(out, 6)
      let at = 6 + json.length
      out.writeUInt32BE(blobs.length, at)
      at += 4
      for (const blob of blobs) {
        out.writeUInt32BE(blob.byteLength, at)
        out[at + 4] = Buffer.isBuffer(blob) ? SUBTYPE_BUFFER : SUBTYPE_UINT8ARRAY
        out.set(blob, at + 5)
        at += 5 + blob.byteLength
      }
      return out
    } finally {
      this.blobs = []
    }
  }

  private decodeMixed(bytes: Buffer): unknown {
    const corrupt = () => new InvalidValueError('stored value is corrupt: its byte blocks are truncated')
    if (bytes.length < 10) throw corrupt()
    const jsonLength = bytes.readUInt32BE(2)
    let at = 6 + jsonLength
    if (at + 4 > bytes.length) throw corrupt()
    const count = bytes.readUInt32BE(at)
    at += 4
    const blobs: Uint8Array[] = []
    for (let i = 0; i < count; i++) {
      if (at + 5 > bytes.length) throw corrupt()
      const length = bytes.readUInt32BE(at)
      if (at + 5 + length > bytes.length) throw corrupt()
      blobs.push(copyBytes(bytes, at + 5, at + 5 + length, bytes[at + 4]!))
      at += 5 + length
    }
    this.blobs = blobs
    try {
      return this.parse(bytes.toString('utf8', 6, 6 + jsonLength))
    } finally {
      this.blobs = []
    }
  }
}

/** Text length at which `textBytes` writes into a buffer of its own instead of concatenating the header. */
const LONG_TEXT = 512

/**
 * A value of a text kind: the header `[FORMAT_VERSION, kind]`, then `text` as UTF-8. Short text is joined to the
 * header and converted in one call; long text is written straight after the header (joining would copy it once
 * more), first into a buffer of one byte per character, which holds it whenever it is ASCII: if every byte written
 * is ASCII, each is one character, so all of them were written.
 */
function textBytes(kind: number, text: string): Buffer {
  if (text.length < LONG_TEXT) {
    return Buffer.from((kind === KIND_JSON ? JSON_HEADER : String.fromCharCode(FORMAT_VERSION, kind)) + text, 'utf8')
  }
  let out = Buffer.allocUnsafe(2 + text.length)
  out[0] = FORMAT_VERSION
  out[1] = kind
  if (out.write(text, 2, 'utf8') !== text.length || !isAscii(out)) {
    const length = Buffer.byteLength(text, 'utf8')
    out = Buffer.allocUnsafe(2 + length)
    out[0] = FORMAT_VERSION
    out[1] = kind
    out.write(text, 2, length, 'utf8')
  }
  return out
}

/** Text of `bytes` from `start`: ASCII (most JSON) is read as latin1, which skips the UTF-8 decoder. */
function textOf(bytes: Buffer, start: number): string {
  return bytes.length >= LONG_TEXT && isAscii(bytes) ? bytes.toString('latin1', start) : bytes.toString('utf8', start)
}

/** The value of a `j` value's JSON text; text that is not JSON (`{oops`, `0x10`, `[1,]`) is `InvalidValueError`. */
function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(textOf(bytes, 2))
  } catch (error) {
    throw new InvalidValueError(
      `stored value is corrupt: its JSON text does not parse (${(error as Error).message}); it was not written by Cubby, or was edited`,
      { cause: error },
    )
  }
}

/** A fresh copy of `bytes[start, end)` as a Buffer or a plain Uint8Array. */
function copyBytes(bytes: Buffer, start: number, end: number, subtype: number): Uint8Array {
  const view = bytes.subarray(start, end)
  return subtype === SUBTYPE_BUFFER ? Buffer.from(view) : new Uint8Array(view)
}
