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

/** Carries the unstorable thing up the walk; each level adds its path segment (built only on failure). */
class Unstorable {
  readonly path: string[] = []
  constructor(
    readonly what: string,
    readonly hint: string,
  ) {}
}

/**
 * Walks `value` once and returns `RICH | HAS_BYTES | NEEDS_ESCAPE` flags (0 = plain JSON), or throws
 * `SerializationError` naming the path of the first thing that cannot be stored. Anything the value itself throws
 * while being read (a getter, a Proxy trap) also becomes a `SerializationError`, with the original as `cause`.
 */
export function classify(value: unknown, isCustom: CustomTypeTest | undefined): number {
  try {
    if (isCustom === undefined && isPlainJson(value, 0)) return 0
    return walk(value, isCustom, [])
  } catch (error) {
    if (error instanceof Unstorable) {
      throw new SerializationError(
        `cannot store ${error.what} at ${shorten(`value${error.path.reverse().join('')}`)}; ${error.hint}`,
      )
    }
    throw asSerializationError(error)
  }
}

/** Maps an error thrown while reading or serializing a value to a `SerializationError` (Cubby errors pass through). */
export function asSerializationError(error: unknown): CubbyError {
  if (error instanceof CubbyError) return error
  if (error instanceof RangeError && /call stack/i.test(error.message)) {
    return new SerializationError('cannot store the value: it is nested too deeply to serialize; flatten it', {
      cause: error,
    })
  }
  const detail = error instanceof Error ? error.message : typeof error
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

/**
 * The fast path: true when `value` is certainly plain JSON that JSON.parse(JSON.stringify(value)) reproduces.
 * It only says yes or "not sure"; anything unusual (special types, holes, undefined, deep nesting that might be a
 * cycle, objects whose constructor is not Object) falls back to the full walk, which decides and explains.
 */
function isPlainJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true
    case 'number':
      return Number.isFinite(value) && (value !== 0 || 1 / value > 0)
    case 'object': {
      if (value === null) return true
      if (depth > 64) return false
      if (Array.isArray(value)) {
        if (Object.getPrototypeOf(value) !== Array.prototype) return false
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i]
          if (item === undefined || !isPlainJson(item, depth + 1)) return false
        }
        return true
      }
      if (Object.getPrototypeOf(value) !== Object.prototype) return false
      for (const key in value) {
        const item = (value as Record<string, unknown>)[key]
        if (item === undefined || !isPlainJson(item, depth + 1)) return false
      }
      return true
    }
    default:
      return false
  }
}

function walk(value: unknown, isCustom: CustomTypeTest | undefined, stack: object[]): number {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return 0
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0) ? 0 : RICH
    case 'bigint':
    case 'undefined':
      return RICH
    case 'function':
      throw new Unstorable('a function', 'store plain data instead')
    case 'symbol':
      throw new Unstorable('a symbol', 'store a string instead')
  }
  if (value === null) return 0
  const object = value as object
  if (isCustom?.(object)) return RICH
  if (stack.includes(object)) return RICH // superjson restores cycles
  if (stack.length >= MAX_DEPTH) throw new Unstorable(`a value nested over ${MAX_DEPTH} levels deep`, 'flatten it')
  const proto = Object.getPrototypeOf(object)
  if (proto === Array.prototype) return walkArray(object as unknown[], isCustom, stack)
  if (proto === Object.prototype || proto === null)
    return walkRecord(object as Record<string, unknown>, isCustom, stack)
  if (proto === Uint8Array.prototype || proto === Buffer.prototype) return HAS_BYTES
  if (proto === Date.prototype) {
    if (Number.isNaN((object as Date).getTime())) throw new Unstorable('an invalid Date', 'store null or a valid Date')
    return RICH
  }
  if (proto === RegExp.prototype) return RICH
  if (proto === Map.prototype) return walkMap(object as Map<unknown, unknown>, isCustom, stack)
  if (proto === Set.prototype) return walkSet(object as Set<unknown>, isCustom, stack)
  const name = (proto?.constructor as { name?: string } | undefined)?.name || 'an unnamed class'
  if (ArrayBuffer.isView(object)) throw new Unstorable(`a ${name}`, 'store its bytes as a Uint8Array instead')
  throw new Unstorable(
    `an instance of ${name}`,
    'store plain data, or register a custom type with openCubby({ types })',
  )
}

/** Adds `segment` to the path of an `Unstorable` passing through. */
function tag(error: unknown, segment: string): unknown {
  if (error instanceof Unstorable) error.path.push(segment)
  return error
}

function walkArray(array: unknown[], isCustom: CustomTypeTest | undefined, stack: object[]): number {
  stack.push(array)
  let flags = 0
  for (let i = 0; i < array.length; i++) {
    if (!(i in array)) {
      // superjson drops holes and JSON turns them into null: refuse rather than change the array
      throw tag(new Unstorable('a sparse array (a hole)', 'fill the holes, e.g. Array.from(array)'), `[${i}]`)
    }
    try {
      flags |= walk(array[i], isCustom, stack)
    } catch (error) {
      throw tag(error, `[${i}]`)
    }
  }
  stack.pop()
  return flags
}

function walkRecord(record: Record<string, unknown>, isCustom: CustomTypeTest | undefined, stack: object[]): number {
  stack.push(record)
  let flags = 0
  for (const key of Object.keys(record)) {
    if (needsEscape(key)) flags |= NEEDS_ESCAPE
    try {
      flags |= walk(record[key], isCustom, stack)
    } catch (error) {
      throw tag(error, `.${key}`)
    }
  }
  stack.pop()
  return flags
}

function walkMap(map: Map<unknown, unknown>, isCustom: CustomTypeTest | undefined, stack: object[]): number {
  stack.push(map)
  let flags = RICH
  for (const [key, value] of map) {
    try {
      flags |= walk(key, isCustom, stack) | walk(value, isCustom, stack)
    } catch (error) {
      throw tag(error, `.get(${describeKey(key)})`)
    }
  }
  stack.pop()
  return flags
}

function walkSet(set: Set<unknown>, isCustom: CustomTypeTest | undefined, stack: object[]): number {
  stack.push(set)
  let flags = RICH
  for (const value of set) {
    try {
      flags |= walk(value, isCustom, stack)
    } catch (error) {
      throw tag(error, '<Set item>')
    }
  }
  stack.pop()
  return flags
}
