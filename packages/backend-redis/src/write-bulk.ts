import { isUtf8 } from 'node:buffer'
import type { OpResult } from '@cubby/core/backend'
import type { Arg } from './connection.js'
import type { Item } from './write-batch.js'

/** Values from this size on travel as a whole entry of their own (write-batch.ts); a bulk run has none. */
const LARGE = 1024

/** Most versions one grant asks for. */
const MAX_GRANT = 1 << 20
/** Fewest versions one grant asks for. */
const MIN_GRANT = 1024

interface Block {
  /** The block's first version as the server knows it. */
  base: string
  next: number
  end: number
}

/**
 * Blocks of versions the write function granted this process, one per group (see lua/write-bulk.ts). A bulk run
 * takes its versions from its group's block, so its entries go out ready to store; the server checks every use.
 */
export class VersionBlocks {
  private readonly blocks = new Map<string, Block>()
  /** Groups with a grant asked for and not answered yet. */
  private readonly asking = new Set<string>()

  /** Versions [start, start + count) of the group's block, or undefined when it has too few left. */
  take(group: string, count: number): { base: string; start: number } | undefined {
    const block = this.blocks.get(group)
    if (!block || block.end - block.next < count) return undefined
    const start = block.next
    block.next += count
    return { base: block.base, start }
  }

  /** How many versions to ask for with a write (0: none), given that the group is about to need `expected`. */
  want(group: string, expected: number): number {
    if (this.asking.has(group)) return 0
    const block = this.blocks.get(group)
    if (block && block.end - block.next >= expected) return 0
    this.asking.add(group)
    return Math.min(MAX_GRANT, Math.max(MIN_GRANT, expected))
  }

  /** A grant arrived (or the write that asked failed: `base` undefined). */
  granted(group: string, base?: number, size?: number): void {
    this.asking.delete(group)
    if (base !== undefined && size !== undefined)
      this.blocks.set(group, { base: String(base), next: base, end: base + size })
  }

  /** The server no longer knows the group's block (restart, failover, a new library): stop using it. */
  forget(group: string): void {
    this.blocks.delete(group)
  }
}

/** Whether a run of plain sets goes the bulk way: more than one op, no TTL, every value small. */
export function isBulk(run: Item[]): boolean {
  let count = 0
  for (const item of run) {
    for (const op of item.request.ops) {
      if (op.type !== 'set' || op.expiresAt !== undefined || op.value.byteLength >= LARGE) return false
      count++
    }
  }
  return count > 1
}

/** A value's entry `version||value`: a string when the value is UTF-8 text (one `write` for the whole command). */
function entryArg(version: string, value: Uint8Array): Arg {
  const bytes = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength)
  if (isUtf8(bytes)) return `${version}||${bytes.toString()}`
  const head = Buffer.from(`${version}||`, 'latin1')
  return Buffer.concat([head, bytes], head.length + bytes.length)
}

/**
 * Encodes a bulk run (format in lua/write-bulk.ts): versions from the group's block when it has enough, else
 * entries with an empty version for the server to fill. Returns the first version taken, if any.
 */
export function encodeBulk(
  run: Item[],
  count: number,
  taken: { base: string; start: number } | undefined,
  want: number,
  body: Arg[],
  entries: string[],
): number | undefined {
  const first = run[0]!
  const start = taken?.start
  body.push(
    'B',
    String(first.request.now),
    first.scope.id,
    String(count),
    taken?.base ?? '',
    String(start ?? 0),
    String(want),
  )
  const prefix = first.scope.entries
  let version = start ?? 0
  for (const item of run) {
    for (const op of item.request.ops) {
      if (op.type !== 'set') continue
      entries.push(prefix + op.key)
      body.push(entryArg(start === undefined ? '' : String(version++), op.value))
    }
  }
  return start
}

/**
 * Settles a bulk record `B<'c' or first version>:<existed bits>[+<base>,<size>]` of `text[start, end)`; returns the
 * grant it carries, if any.
 */
export function settleBulk(
  text: string,
  start: number,
  end: number,
  items: Item[],
  clientStart: number | undefined,
): { own: boolean; grant?: [number, number] } {
  const colon = text.indexOf(':', start)
  const own = text.charCodeAt(start + 1) === 99 // 'c'
  let version = own ? clientStart! : Number(text.slice(start + 1, colon))
  let bit = colon + 1
  for (const item of items) {
    const count = item.request.ops.length
    const results: OpResult[] = new Array(count)
    for (let i = 0; i < count; i++) results[i] = { existed: text.charCodeAt(bit++) === 49, version: String(version++) }
    item.resolve({ ok: true, results })
  }
  const plus = text.indexOf('+', bit)
  const stop = plus >= 0 && plus < end ? plus : end
  if (bit !== stop)
    throw new Error(`the write script answered ${bit - colon - 1} results for a bulk run of ${stop - colon - 1}`)
  if (stop === end) return { own }
  const comma = text.indexOf(',', plus)
  return { own, grant: [Number(text.slice(plus + 1, comma)), Number(text.slice(comma + 1, end))] }
}
