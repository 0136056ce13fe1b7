import { article } from '../describe.js'
import { CubbyError, SerializationError } from '../errors.js'
import { needsEscape } from './escape.js'

/** The value needs superjson (a non-JSON type, undefined, a cycle). */
export const RICH = 1
/** The value holds a Uint8Array somewhere. */
export const HAS_BYTES = 2
/** A plain object in the value has a key superjson refuses (`__proto__`, `constructor`, `prototype`); see `escape.ts`. */
export const NEEDS_ESCAPE = 4

/** Returns true for values a custom type registered on this cubby will serialize. */
export type CustomTypeTest = (value: object) => boolean

/** Deepest nesting the codec accepts (superjson recurses, so much deeper values would overflow the stack). */
export const MAX_DEPTH = 1000
/** Longest path shown in an error message; longer ones keep their start and end. */
const MAX_PATH_CHARS = 200

/** What `snapshot` returns: a copy of the value made of plain data, and how it must be encoded. */
export interface Snapshot {
  /** The copy: what the value held when it was read, read once. */
  value: unknown
  /** `RICH | HAS_BYTES | NEEDS_ESCAPE` (0 = plain JSON). */
  flags: number
}

/** Carries the unstorable thing up the walk; each level adds its path segment (built only on failure). */
class Unstorable {
  readonly path: string[] = []
  constructor(
    readonly what: string,
    readonly hint: string,
  ) {}
}

/**
 * Reads `value` once, property by property, into a copy made of plain data (plain objects, arrays, Maps, Sets,
 * Dates, RegExps; bytes and custom-type instances are kept as they are), and says how the copy must be encoded.
 * Encoders serialize the copy, never `value` itself, so a getter or Proxy that answers differently on each read
 * cannot make the stored value differ from what was checked: what is stored is exactly what was read.
 *
 * The copy holds what a value's data is, by one rule (the one `JSON.stringify` and `structuredClone` follow): a plain
 * object is its own enumerable string-keyed properties, an array its elements `0..length-1` (a hole reads as
 * `undefined` and is stored as such), a Date its time, a RegExp its source and flags, a Map or Set its entries, bytes
 * their bytes. Nothing else an object carries is part of the value: symbol-keyed and non-enumerable properties, and
 * named properties on arrays, Dates, Maps, Sets and bytes, are not stored.
 *
 * Throws `SerializationError` naming the path of the first thing that cannot be stored. Anything the value itself
 * throws while being read (a getter, a Proxy trap) also becomes a `SerializationError`, with the original as `cause`.
 */
export function snapshot(value: unknown, isCustom: CustomTypeTest | undefined): Snapshot {
  const walker = new Walker(isCustom)
  const copy = walker.run(value)
  return { value: copy, flags: walker.flags }
}

/** Maps an error thrown while reading or serializing a value to a `SerializationError` (Cubby errors pass through). */
export function asSerializationError(error: unknown): CubbyError {
  if (error instanceof CubbyError) return error
  if (error instanceof RangeError && /call stack/i.test(error.message)) {
    return new SerializationError('cannot store the value: it is nested too deeply to serialize; flatten it', {
      cause: error,
    })
  }
  const detail = error instanceof Error ? error.message : `it threw ${article(typeof error)}`
  return new SerializationError(
    `cannot serialize the value (${detail}); store plain data (no getters or proxies that throw or change)`,
    { cause: error },
  )
}

/** Keeps the start and end of a long path. */
function shorten(path: string): string {
  if (path.length <= MAX_PATH_CHARS) return path
  return `${path.slice(0, MAX_PATH_CHARS / 2)}…${path.slice(-MAX_PATH_CHARS / 2)}`
}

/** A description of a Map key for a path, that never calls the key's own conversions (they may throw). */
function describeKey(key: unknown): string {
  if (typeof key === 'string') return JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key)
  if (typeof key === 'number' || typeof key === 'boolean' || key === null || key === undefined) return String(key)
  if (typeof key === 'bigint') return `${key}n`
  return `<${typeof key}>`
}

/** Adds `segment` to the path of an `Unstorable` passing through. */
function tag(error: unknown, segment: string): unknown {
  if (error instanceof Unstorable) error.path.push(segment)
  return error
}

/** How many objects a walk tracks in plain arrays (a linear search) before it moves them to a Map. */
const LINEAR_SEEN = 32

/**
 * The walk behind `snapshot`: the copies made so far (so shared objects and cycles stay shared in the copy) and
 * the flags seen. One walker can run many walks, one at a time (`busy` says one is running: a getter read during a
 * walk may itself encode a value, and must use a walker of its own); each walk forgets its objects when it ends.
 * @internal
 */
export class Walker {
  flags = 0
  /** Whether a walk is running. */
  busy = false
  /** Originals copied (or being copied) and their copies, by index: a linear search while there are few. */
  private readonly originals: (object | undefined)[] = new Array(LINEAR_SEEN).fill(undefined)
  private readonly copies: unknown[] = new Array(LINEAR_SEEN).fill(undefined)
  /** How many slots of `originals` and `copies` this walk uses. */
  private count = 0
  /** Original → copy once a walk has met more than `LINEAR_SEEN` objects. */
  private seen: Map<object, unknown> | undefined
  /** The objects being copied, outermost first: meeting one again is a cycle. */
  private readonly stack: object[] = []

  constructor(private readonly isCustom: CustomTypeTest | undefined) {}

  /**
   * Reads `value` into a plain copy (see `snapshot`), leaving how it must be encoded in `flags`; throws
   * `SerializationError` naming the path of the first thing that cannot be stored.
   */
  run(value: unknown): unknown {
    this.busy = true
    this.flags = 0
    try {
      return this.copy(value)
    } catch (error) {
      this.stack.length = 0 // a completed walk pops all it pushed
      if (error instanceof Unstorable) {
        throw new SerializationError(
          `cannot store ${error.what} at ${shorten(`value${error.path.reverse().join('')}`)}; ${error.hint}`,
        )
      }
      throw asSerializationError(error)
    } finally {
      // Forget the value: the walker outlives it.
      for (let i = 0; i < this.count; i++) {
        this.originals[i] = undefined
        this.copies[i] = undefined
      }
      this.count = 0
      this.seen = undefined
      this.busy = false
    }
  }

  /** The copy of an object met before in this walk, or undefined. */
  private copyOf(object: object): unknown {
    if (this.seen) return this.seen.get(object)
    for (let i = 0; i < this.count; i++) if (this.originals[i] === object) return this.copies[i]
    return undefined
  }

  copy(value: unknown): unknown {
    switch (typeof value) {
      case 'string':
      case 'boolean':
        return value
      case 'number':
        if (!Number.isFinite(value) || Object.is(value, -0)) this.flags |= RICH
        return value
      case 'bigint':
      case 'undefined':
        this.flags |= RICH
        return value
      case 'function':
        throw new Unstorable('a function', 'store plain data instead')
      case 'symbol':
        throw new Unstorable('a symbol', 'store a string instead')
    }
    if (value === null) return null
    const object = value as object
    const done = this.copyOf(object)
    if (done !== undefined) {
      if (this.stack.includes(object)) this.flags |= RICH // superjson restores cycles
      return done
    }
    if (this.isCustom?.(object)) {
      this.flags |= RICH
      return object
    }
    if (this.stack.length >= MAX_DEPTH) {
      throw new Unstorable(`a value nested over ${MAX_DEPTH} levels deep`, 'flatten it')
    }
    const proto = Object.getPrototypeOf(object)
    if (proto === Array.prototype) return this.array(object as unknown[])
    if (proto === Object.prototype || proto === null) return this.record(object as Record<string, unknown>)
    if (proto === Uint8Array.prototype || proto === Buffer.prototype) {
      this.flags |= HAS_BYTES
      return object
    }
    if (proto === Date.prototype) {
      const time = Date.prototype.getTime.call(object)
      if (Number.isNaN(time)) throw new Unstorable('an invalid Date', 'store null or a valid Date')
      this.flags |= RICH
      return this.keep(object, new Date(time))
    }
    if (proto === RegExp.prototype) {
      const regexp = object as RegExp
      this.flags |= RICH
      return this.keep(object, new RegExp(regexp.source, regexp.flags))
    }
    if (proto === Map.prototype) return this.map(object as Map<unknown, unknown>)
    if (proto === Set.prototype) return this.set(object as Set<unknown>)
    const name = (proto?.constructor as { name?: string } | undefined)?.name || 'unnamed class'
    if (ArrayBuffer.isView(object)) throw new Unstorable(article(name), 'store its bytes as a Uint8Array instead')
    throw new Unstorable(
      `an instance of ${name}`,
      'store plain data, or register a custom type with openCubby({ types })',
    )
  }

  /** Records `copy` as the copy of `original` (copies are objects, never undefined). */
  private keep<T>(original: object, copy: T): T {
    if (this.seen) this.seen.set(original, copy)
    else if (this.count < LINEAR_SEEN) {
      this.originals[this.count] = original
      this.copies[this.count++] = copy
    } else {
      this.seen = new Map<object, unknown>()
      for (let i = 0; i < this.count; i++) this.seen.set(this.originals[i]!, this.copies[i])
      this.seen.set(original, copy)
    }
    return copy
  }

  private array(array: unknown[]): unknown[] {
    const length = array.length
    // Filled by push, so the copy is a packed array (a preallocated one is holey, slower to stringify).
    const out = this.keep(array, [] as unknown[])
    this.stack.push(array)
    let i = 0
    try {
      for (; i < length; i++) {
        const item = array[i]
        // Strings and booleans are their own copy: skip the call (most elements of plugin data are these).
        out.push(typeof item === 'string' || typeof item === 'boolean' ? item : this.copy(item))
      }
    } catch (error) {
      throw tag(error, `[${i}]`)
    }
    this.stack.pop()
    return out
  }

  private record(record: Record<string, unknown>): Record<string, unknown> {
    const out = this.keep(record, {} as Record<string, unknown>)
    this.stack.push(record)
    const keys = Object.keys(record)
    let key = ''
    try {
      for (let i = 0; i < keys.length; i++) {
        key = keys[i]!
        if (needsEscape(key)) this.flags |= NEEDS_ESCAPE
        let item = record[key]
        // Strings and booleans are their own copy: skip the call (most properties of plugin data are these).
        if (typeof item !== 'string' && typeof item !== 'boolean') item = this.copy(item)
        // `__proto__` must become an own property of the copy, never its prototype.
        if (key === '__proto__')
          Object.defineProperty(out, key, { value: item, writable: true, enumerable: true, configurable: true })
        else out[key] = item
      }
    } catch (error) {
      throw tag(error, `.${key}`)
    }
    this.stack.pop()
    return out
  }

  private map(map: Map<unknown, unknown>): Map<unknown, unknown> {
    const out = this.keep(map, new Map<unknown, unknown>())
    this.flags |= RICH
    this.stack.push(map)
    for (const [key, value] of map) {
      try {
        out.set(this.copy(key), this.copy(value))
      } catch (error) {
        throw tag(error, `.get(${describeKey(key)})`)
      }
    }
    this.stack.pop()
    return out
  }

  private set(set: Set<unknown>): Set<unknown> {
    const out = this.keep(set, new Set<unknown>())
    this.flags |= RICH
    this.stack.push(set)
    for (const value of set) {
      try {
        out.add(this.copy(value))
      } catch (error) {
        throw tag(error, '<Set item>')
      }
    }
    this.stack.pop()
    return out
  }
}
