import { isAscii, isUtf8 } from 'node:buffer'
import type { OpResult } from '@cubby/core/backend'
import type { Arg } from './connection.js'
import type { Item } from './write-batch.js'

/** Values from this size on travel as a whole entry of their own (write-batch.ts); a bulk run has none. */
const LARGE = 1024

const BAR = 0x7c // '|'

/** Most versions one grant asks for. */
const MAX_GRANT = 1 << 20
/** Fewest versions one grant asks for. */
const MIN_GRANT = 1024
/** Most groups with a block kept at once. */
const MAX_GROUPS = 10_000

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
    if (base === undefined || size === undefined) return
    if (this.blocks.size >= MAX_GROUPS && !this.blocks.has(group)) this.blocks.clear() // the next writes ask again
    this.blocks.set(group, { base: String(base), next: base, end: base + size })
  }

  /** The server no longer knows the group's block (restart, failover, a new library): stop using it. */
  forget(group: string): void {
    this.blocks.delete(group)
  }
}

/** Whether a plain request can be part of a bulk run: sets only, no TTL, every value small. */
export function isBulkItem(item: Item): boolean {
  for (const op of item.request.ops) {
    if (op.type !== 'set' || op.expiresAt !== undefined || op.value.byteLength >= LARGE) return false
  }
  return true
}

/** Whether a run of plain sets goes the bulk way: more than one op, every request a bulk item. */
export function isBulk(run: Item[]): boolean {
  let count = 0
  for (const item of run) {
    if (!isBulkItem(item)) return false
    count += item.request.ops.length
  }
  return count > 1
}

/** Writes `n` (a non-negative integer) in decimal at `at`; returns where it ends. */
function writeDigits(buf: Buffer, at: number, n: number): number {
  let digits = 1
  for (let rest = n; rest >= 10; rest = Math.floor(rest / 10)) digits++
  const end = at + digits
  for (let rest = n, i = end - 1; i >= at; i--, rest = Math.floor(rest / 10)) buf[i] = 48 + (rest % 10)
  return end
}

/**
 * Encodes a bulk run (format in lua/write-bulk.ts): versions from the group's block when it has enough, else
 * entries with an empty version for the server to fill. Returns the first version taken, if any.
 *
 * Every entry is its own argument, and strings are what the driver writes cheapest (one `write` for the whole
 * command, where each Buffer argument adds pieces to a `writev`). The entries are laid out in one buffer; when it
 * is ASCII, as JSON values usually are, it becomes one string and each entry a slice of it (a slice shares its
 * parent's characters: no copy, no string per entry to collect). Otherwise each entry that is UTF-8 text becomes
 * its own string, and any other (bytes that are not text) goes as a Buffer.
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
  // Where the calls' `now` changes: 'op index:now', the first op's being the record's own.
  const nows: string[] = []
  let now = first.request.now
  let index = 1
  for (const item of run) {
    if (item.request.now !== now) {
      now = item.request.now
      nows.push(`${index}:${now}`)
    }
    index += item.request.ops.length
  }
  body.push(nows.join(','))
  const prefix = first.scope.entries
  let size = 0
  for (const item of run) for (const op of item.request.ops) if (op.type === 'set') size += op.value.byteLength + 18
  const buf = Buffer.allocUnsafe(size)
  const ends = new Array<number>(count)
  let at = 0
  let version = start ?? 0
  let n = 0
  for (const item of run) {
    for (const op of item.request.ops) {
      if (op.type !== 'set') continue
      entries.push(prefix + op.key)
      if (start !== undefined) at = writeDigits(buf, at, version++)
      buf[at++] = BAR
      buf[at++] = BAR
      buf.set(op.value, at)
      at += op.value.byteLength
      ends[n++] = at
    }
  }
  let from = 0
  if (isAscii(buf.subarray(0, at))) {
    const text = buf.toString('latin1', 0, at)
    for (const end of ends) {
      body.push(text.slice(from, end))
      from = end
    }
    return start
  }
  for (const end of ends) {
    const entry = buf.subarray(from, end)
    body.push(isUtf8(entry) ? entry.toString() : entry)
    from = end
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
