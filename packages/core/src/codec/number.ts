import { Codec } from './codec.js'
import { asBuffer, FORMAT_VERSION, KIND_JSON, KIND_SUPERJSON } from './format.js'

const plain = new Codec()
/** A JSON number, as `JSON.stringify` writes it (and JSON allows: no leading zeros, no hex, no `+`). */
const JSON_NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/

/**
 * Reads and writes numbers in the stored format, for backends that implement `incr`. `read` returns undefined for
 * anything that is not a number; `write` encodes exactly as `KVStore.set` would.
 */
export const numberCodec = {
  read(stored: Uint8Array): number | undefined {
    const bytes = asBuffer(stored)
    if (bytes[0] !== FORMAT_VERSION) return undefined
    if (bytes[1] === KIND_JSON) {
      const first = bytes[2]
      // JSON numbers start with '-' or a digit; skip parsing anything else
      if (first === undefined || (first !== 0x2d && (first < 0x30 || first > 0x39))) return undefined
      const text = bytes.toString('latin1', 2)
      // Only JSON's number syntax: `Number()` would also read `0x10`, `00012` or `1_0`, which `get` refuses.
      return JSON_NUMBER.test(text) ? Number(text) : undefined
    }
    if (bytes[1] !== KIND_SUPERJSON) return undefined
    try {
      const value = plain.decode(bytes)
      return typeof value === 'number' ? value : undefined
    } catch {
      return undefined // a custom type this codec does not know: certainly not a number
    }
  },
  write(value: number): Buffer {
    return plain.encode(value)
  },
}
