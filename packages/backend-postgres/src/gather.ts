import type { Writable } from 'node:stream'
import pg from 'pg'

/** The type oid of `bytea`, the element type of the arrays built here. */
const BYTEA_OID = 17
/** The header of a one-dimensional array in PostgreSQL's binary format: ndim, has-nulls, element type, length, lower bound. */
const HEADER = 20
/**
 * Elements at least this large are sent from their own buffer; smaller ones are copied next to their length prefix.
 * A piece costs a `write` call and an iovec (about 1 µs); copying 1 KiB costs less than that.
 */
const BY_REFERENCE = 1024

/**
 * A binary parameter made of pieces written to the socket one after the other, never joined into one buffer. A value
 * of 10 KiB was copied three times on its way to the socket (into the array buffer, then into pg's Bind message, then
 * by the kernel): fresh buffers of hundreds of KiB each time, so each copy also paid the page faults of new memory,
 * and the garbage collector ran for the external memory they held. Sent as pieces, the kernel's copy is the only one.
 */
export class Pieces {
  constructor(
    /** Written in order; the buffers are referenced, not copied. */
    readonly pieces: readonly Uint8Array[],
    /** Their total length in bytes. */
    readonly length: number,
  ) {}
}

/**
 * A `bytea[]` parameter in PostgreSQL's binary array format (what `array_recv` reads) as Pieces: the header and each
 * element's length prefix in one framing buffer, elements of BY_REFERENCE bytes or more referenced where they are.
 * The statement must cast the parameter (`$n::bytea[]`). Send it with `submit`.
 */
export function byteaPieces(items: readonly Uint8Array[]): Pieces {
  if (items.length === 0) return new Pieces([emptyArray()], 12)
  let framing = HEADER
  let length = HEADER
  for (const item of items) {
    framing += 4
    length += 4 + item.byteLength
    if (item.byteLength < BY_REFERENCE) framing += item.byteLength
  }
  const frame = arrayHeader(framing, items.length)
  const pieces: Uint8Array[] = []
  let start = 0
  let at = HEADER
  for (const item of items) {
    frame.writeInt32BE(item.byteLength, at)
    at += 4
    if (item.byteLength < BY_REFERENCE) {
      frame.set(item, at)
      at += item.byteLength
    } else {
      pieces.push(frame.subarray(start, at), item)
      start = at
    }
  }
  if (at > start) pieces.push(frame.subarray(start, at))
  return new Pieces(pieces, length)
}

/** `byteaPieces` of strings as UTF-8 (keys), written straight into one buffer. */
export function utf8Pieces(items: readonly string[]): Pieces {
  if (items.length === 0) return new Pieces([emptyArray()], 12)
  let length = HEADER
  const sizes = new Array<number>(items.length)
  for (let i = 0; i < items.length; i++) {
    sizes[i] = Buffer.byteLength(items[i]!, 'utf8')
    length += 4 + sizes[i]!
  }
  const out = arrayHeader(length, items.length)
  let at = HEADER
  for (let i = 0; i < items.length; i++) {
    out.writeInt32BE(sizes[i]!, at)
    at += 4 + out.write(items[i]!, at + 4, 'utf8')
  }
  return new Pieces([out], length)
}

function arrayHeader(size: number, count: number): Buffer {
  const out = Buffer.allocUnsafe(size)
  out.writeInt32BE(1, 0)
  out.writeInt32BE(0, 4)
  out.writeInt32BE(BYTEA_OID, 8)
  out.writeInt32BE(count, 12)
  out.writeInt32BE(1, 16)
  return out
}

function emptyArray(): Buffer {
  const empty = Buffer.alloc(12) // ndim 0, no nulls, then the element type
  empty.writeInt32BE(BYTEA_OID, 8)
  return empty
}

/** What `submit` takes as a parameter: Pieces, a Buffer (binary), a number, string or array of numbers (text), or null. */
export type Param = Pieces | Uint8Array | string | number | boolean | ReadonlyArray<number | null> | null | undefined

/** A named statement and its parameters, for `submit`. */
export interface PiecesQuery {
  name: string
  text: string
  values: readonly Param[]
}

/** The parts of pg's connection this module writes to (the same ones pg's own Query uses). */
interface Connection {
  stream: Writable
  parse(message: { text: string; name: string; types?: unknown }): void
  describe(message: { type: 'P'; name: string }): void
  close(message: { type: 'S'; name: string }): void
  sync(): void
  submittedNamedStatements: Record<string, string>
}

/** pg's Query with the Bind message written as pieces (see `Pieces`); everything else is pg's own. */
class PiecesQueryImpl extends pg.Query {
  prepare(this: PiecesQueryImpl & QueryInternals, connection: Connection): void {
    if (!this.hasBeenParsed(connection)) {
      connection.parse({ text: this.text, name: this.name, types: this.types })
      connection.submittedNamedStatements[this.name] = this.text
    }
    let params: Array<Uint8Array | Pieces | Text | null>
    try {
      params = (this.values as Param[]).map(param)
    } catch (error) {
      // As pg does when a value cannot be sent: end the parse with a sync, so the connection stays in step.
      connection.close({ type: 'S', name: this.name })
      connection.sync()
      this.handleError(error as Error, connection)
      return
    }
    writeBind(connection.stream, this.name, params)
    connection.describe({ type: 'P', name: '' })
    this._getRows(connection, undefined)
  }
}

/** Members of pg's Query that `prepare` uses (not in its type declarations). */
interface QueryInternals {
  text: string
  name: string
  types: unknown
  values: unknown[]
  hasBeenParsed(connection: Connection): boolean
  handleError(error: Error, connection: Connection): void
  _getRows(connection: Connection, rows: number | undefined): void
}

/**
 * Runs a named statement whose parameters may be Pieces: on a pipelining connection, it is sent at once, like
 * `client.query`, and takes its turn for the answer.
 */
export function submit<R extends pg.QueryResultRow>(
  client: pg.ClientBase,
  query: PiecesQuery,
): Promise<pg.QueryResult<R>> {
  return new Promise((resolve, reject) => {
    const submittable = new PiecesQueryImpl(
      { name: query.name, text: query.text, values: query.values as unknown[] },
      ((error: Error | undefined, result: pg.QueryResult<R>) => (error ? reject(error) : resolve(result))) as never,
    )
    client.query(submittable)
  })
}

/**
 * Writes a Bind message (unnamed portal, the named statement, every result column as text) as pieces: the socket is
 * corked by pg while a query is submitted, so they leave in one `writev`.
 */
function writeBind(
  stream: Writable,
  statement: string,
  params: ReadonlyArray<Uint8Array | Pieces | Text | null>,
): void {
  if (!stream.writable) return // as pg: the connection is gone, and the query fails with it
  const name = Buffer.byteLength(statement, 'utf8')
  const headSize = 1 + 4 + 1 + name + 1 + 2 + 2 * params.length + 2
  let length = headSize - 1 + 4 // the trailing result-format count and code
  for (const p of params) length += 4 + (p === null ? 0 : p.length)
  const head = Buffer.allocUnsafe(headSize)
  head[0] = 0x42 // 'B'
  let at = head.writeInt32BE(length, 1)
  head[at++] = 0 // unnamed portal
  at += head.write(statement, at, 'utf8')
  head[at++] = 0
  at = head.writeInt16BE(params.length, at)
  for (const p of params) at = head.writeInt16BE(p instanceof Text ? 0 : 1, at)
  head.writeInt16BE(params.length, at)
  const out = new Chunks(stream, head)
  for (const p of params) {
    if (p === null) out.int32(-1)
    else if (p instanceof Pieces) {
      out.int32(p.length)
      for (const piece of p.pieces) out.piece(piece)
    } else {
      const bytes = p instanceof Text ? p.bytes : p
      out.int32(bytes.byteLength)
      out.piece(bytes)
    }
  }
  out.int32(0x00010000) // one result format code: 0, text
  out.end()
}

/** A parameter in text format (its UTF-8 bytes), as pg sends numbers, strings and arrays. */
class Text {
  constructor(readonly bytes: Buffer) {}
  get length(): number {
    return this.bytes.byteLength
  }
}

/** A parameter as pg would send it: Pieces and bytes in binary format, the rest as text (arrays of numbers as literals). */
function param(value: Param): Uint8Array | Pieces | Text | null {
  if (value === null || value === undefined) return null
  if (value instanceof Pieces || value instanceof Uint8Array) return value
  if (Array.isArray(value)) {
    for (const v of value) if (v !== null && typeof v !== 'number') throw new TypeError('array parameters hold numbers')
    return new Text(Buffer.from(`{${value.map((v) => (v === null ? 'NULL' : String(v))).join(',')}}`))
  }
  return new Text(Buffer.from(String(value), 'utf8'))
}

/** Writes small items gathered into one buffer, and large ones from where they are. */
class Chunks {
  private small: Uint8Array[] = []
  private smallSize = 0

  constructor(
    private readonly stream: Writable,
    first: Uint8Array,
  ) {
    this.add(first)
  }

  int32(n: number): void {
    const b = Buffer.allocUnsafe(4)
    b.writeInt32BE(n, 0)
    this.add(b)
  }

  piece(bytes: Uint8Array): void {
    if (bytes.byteLength < BY_REFERENCE) this.add(bytes)
    else {
      this.flushSmall()
      this.stream.write(bytes)
    }
  }

  end(): void {
    this.flushSmall()
  }

  private add(bytes: Uint8Array): void {
    this.small.push(bytes)
    this.smallSize += bytes.byteLength
  }

  private flushSmall(): void {
    if (this.small.length === 0) return
    this.stream.write(this.small.length === 1 ? this.small[0]! : Buffer.concat(this.small, this.smallSize))
    this.small = []
    this.smallSize = 0
  }
}
