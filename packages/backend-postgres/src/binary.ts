/** The type oid of `bytea`, the element type of the arrays `byteaArray` encodes. */
const BYTEA_OID = 17
/** The header of a one-dimensional array in PostgreSQL's binary format: ndim, has-nulls, element type, length, lower bound. */
const HEADER = 20

/**
 * A `bytea[]` parameter in PostgreSQL's binary array format (what `array_recv` reads), as a Buffer: pg sends Buffer
 * parameters as binary, so the server copies each element as is. pg's own conversion of an array of Buffers is a
 * text literal with every element in hex: twice the bytes, built as one string in JavaScript and parsed character by
 * character on the server (`array_in`, then `byteain`) — about 1 ms per 10 KiB element, more than writing the row.
 * The statement must cast the parameter (`$n::bytea[]`), which fixes its type. No element may be null.
 */
export function byteaArray(items: readonly Uint8Array[]): Buffer {
  if (items.length === 0) {
    const empty = Buffer.alloc(12) // ndim 0, no nulls, then the element type
    empty.writeInt32BE(BYTEA_OID, 8)
    return empty
  }
  let size = HEADER
  for (const item of items) size += 4 + item.byteLength
  const out = Buffer.allocUnsafe(size)
  out.writeInt32BE(1, 0)
  out.writeInt32BE(0, 4)
  out.writeInt32BE(BYTEA_OID, 8)
  out.writeInt32BE(items.length, 12)
  out.writeInt32BE(1, 16)
  let at = HEADER
  for (const item of items) {
    out.writeInt32BE(item.byteLength, at)
    at += 4
    out.set(item, at)
    at += item.byteLength
  }
  return out
}

/** `byteaArray` of strings as UTF-8 (keys, scope paths). */
export function utf8Array(items: readonly string[]): Buffer {
  const buffers: Buffer[] = new Array(items.length)
  for (let i = 0; i < items.length; i++) buffers[i] = Buffer.from(items[i]!, 'utf8')
  return byteaArray(buffers)
}
