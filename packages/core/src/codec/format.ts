/**
 * Encoded value layout (format 1). Every stored value starts with two bytes: the format version, then a kind.
 *
 * | kind | bytes after the header                                                          | used for |
 * |------|---------------------------------------------------------------------------------|----------|
 * | `j`  | UTF-8 JSON text                                                                  | plain JSON values (finite numbers other than -0) |
 * | `s`  | UTF-8 superjson text (`{"json":…,"meta":…}`)                                     | Date, Map, Set, BigInt, RegExp, undefined, NaN, ±Infinity, -0, custom types, cycles |
 * | `b`  | one subtype byte (0 Uint8Array, 1 Buffer), then the raw bytes                    | a top-level Uint8Array / Buffer |
 * | `m`  | u32 length + superjson text, u32 count, then per blob: u32 length, subtype, bytes | nested Uint8Array / Buffer, stored raw |
 * | `S`  | as `s`, with object keys escaped (see `escape.ts`)                               | an `s` value holding a key `__proto__`, `constructor` or `prototype` |
 * | `M`  | as `m`, with object keys escaped                                                 | an `m` value holding such a key |
 *
 * u32 = unsigned 32-bit big-endian. A finite number is therefore stored as `0x01 'j'` + its JSON text, which lets a
 * non-JS backend (a Redis Lua script) read and write counters. `S` and `M` were added within format 1 (a new kind
 * is backward compatible: every older value keeps its kind and decodes as before; an older @cubby/core refuses the
 * new kinds with "unknown kind byte" rather than misreading them).
 */
/** The first byte of every stored value. */
export const FORMAT_VERSION = 1
/** Kind `j`: JSON text. */
export const KIND_JSON = 0x6a // 'j'
/** Kind `s`: superjson text. */
export const KIND_SUPERJSON = 0x73 // 's'
/** Kind `b`: top-level bytes. */
export const KIND_BYTES = 0x62 // 'b'
/** Kind `m`: superjson text plus raw byte blocks. */
export const KIND_MIXED = 0x6d // 'm'
/** Kind `S`: as `s`, with escaped object keys. */
export const KIND_SUPERJSON_ESCAPED = 0x53 // 'S'
/** Kind `M`: as `m`, with escaped object keys. */
export const KIND_MIXED_ESCAPED = 0x4d // 'M'
/** Bytes subtype: read back as a plain `Uint8Array`. */
export const SUBTYPE_UINT8ARRAY = 0
/** Bytes subtype: read back as a `Buffer`. */
export const SUBTYPE_BUFFER = 1
/** Header of a `j` value as a string, so encoding can prepend it in the same UTF-8 pass. */
export const JSON_HEADER = String.fromCharCode(FORMAT_VERSION, KIND_JSON)

/** A zero-copy Buffer view of any Uint8Array. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
