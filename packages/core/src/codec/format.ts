/**
 * Encoded value layout (format 1). Every stored value starts with two bytes: the format version, then a kind.
 *
 * | kind | bytes after the header                                                          | used for |
 * |------|---------------------------------------------------------------------------------|----------|
 * | `j`  | UTF-8 JSON text                                                                  | plain JSON values (finite numbers other than -0) |
 * | `s`  | UTF-8 superjson text (`{"json":…,"meta":…}`)                                     | Date, Map, Set, BigInt, RegExp, undefined, NaN, ±Infinity, -0, custom types, cycles |
 * | `b`  | one subtype byte (0 Uint8Array, 1 Buffer), then the raw bytes                    | a top-level Uint8Array / Buffer |
 * | `m`  | u32 length + superjson text, u32 count, then per blob: u32 length, subtype, bytes | nested Uint8Array / Buffer, stored raw |
 *
 * u32 = unsigned 32-bit big-endian. A finite number is therefore stored as `0x01 'j'` + its JSON text, which lets a
 * non-JS backend (a Redis Lua script) read and write counters.
 */
export const FORMAT_VERSION = 1
export const KIND_JSON = 0x6a // 'j'
export const KIND_SUPERJSON = 0x73 // 's'
export const KIND_BYTES = 0x62 // 'b'
export const KIND_MIXED = 0x6d // 'm'
export const SUBTYPE_UINT8ARRAY = 0
export const SUBTYPE_BUFFER = 1
/** Header of a `j` value as a string, so encoding can prepend it in the same UTF-8 pass. */
export const JSON_HEADER = String.fromCharCode(FORMAT_VERSION, KIND_JSON)
/** Header of an `s` value as a string. */
export const SUPERJSON_HEADER = String.fromCharCode(FORMAT_VERSION, KIND_SUPERJSON)

/** A zero-copy Buffer view of any Uint8Array. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
