import { isUtf8 } from 'node:buffer'
import type { WriteRequest } from '@cubby/core/backend'
import type { Arg } from './connection.js'
import { type ScopeKeys, scopeKeys, writeHeadKeys, writeKeys } from './keys.js'
import { CALL_HEAD } from './scripts.js'
import { encodeBulk, isBulk, isBulkItem, type VersionBlocks } from './write-bulk.js'

/** One queued write request and the promise waiting for it. */
export interface Item {
  request: WriteRequest
  scope: ScopeKeys
  /** A quota refusal is final (expired entries were just reclaimed). */
  final: boolean
  resolve(result: unknown): void
  reject(error: unknown): void
}

/**
 * How the reply's records map back to items: a run of plain sets (with `bulk` when it went the bulk way, and the
 * first of the client's versions it used, if any), or one general request.
 */
export type BatchRecord =
  | { plain: true; items: Item[]; bulk?: { start: number | undefined } }
  | { plain: false; item: Item }

/** What the write script needs besides the items. */
export interface BatchContext {
  prefix: string
  standalone: boolean
  graceMs: number
  seqTtlMs: number
}

/** A batch encoded for one call of the write script. */
export interface EncodedBatch {
  /** The key that routes the call (the group's version counter). */
  route: string
  /** How many KEYS the call has. */
  keys: number
  /** The call for `Script.send`: CALL_HEAD free slots, then KEYS and ARGV in the layout of lua/write.ts. */
  call: Arg[]
  records: BatchRecord[]
  /** Whether it asks the server for a block of versions (write-bulk.ts). */
  asked: boolean
}

/** The group's version blocks, and how many versions the group's writes of this flush need. */
export interface BulkContext {
  blocks: VersionBlocks
  expected: number
}

/** No checks, no quotas, only sets: the write script's fast path (`SET … GET`, accounting from what it replaced). */
function isPlain(item: Item): boolean {
  const { request } = item
  if (item.final || request.checks.length > 0 || request.quotas.length > 0 || request.ops.length === 0) return false
  for (const op of request.ops) if (op.type !== 'set') return false
  return true
}

const bytes = (value: Uint8Array) =>
  Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength)

/** Values from this size on travel as a whole entry of their own instead of inside the concatenated small values. */
export const LARGE_VALUE_BYTES = 1024

const ZERO_VERSION = '0'.repeat(16)

/**
 * Small values go into one concatenated argument (each Buffer argument costs the driver two writes, and the
 * function slices them out cheaply). A large one goes as its own argument, already laid out as its entry with a
 * zeroed 16-digit version, which the function writes as is and then patches: Lua never copies its bytes.
 */
function pushValue(value: Uint8Array, exp: string, body: Arg[], values: Buffer[]): void {
  if (value.byteLength < LARGE_VALUE_BYTES) {
    values.push(bytes(value))
    body.push(String(value.byteLength))
    return
  }
  const head = Buffer.from(`${ZERO_VERSION}|${exp}|`, 'latin1')
  body.push('*', Buffer.concat([head, value], head.length + value.byteLength))
}

/** The version text the write function gives a set of `value` with counter value `n` (see pushValue). */
export const versionText = (n: number, value: Uint8Array) =>
  value.byteLength < LARGE_VALUE_BYTES ? String(n) : String(n).padStart(16, '0')

/**
 * The small values as one argument. A Buffer argument makes the driver write the command in three pieces (one
 * `writev`, measured at ~20 µs more per call than one `write` on loopback); valid UTF-8 text, which JSON values
 * are, goes as a string instead, which the driver encodes back to the very same bytes, so the whole command is one
 * string and one `write`.
 */
function blobArg(values: Buffer[]): Arg {
  const blob = values.length === 1 ? values[0]! : Buffer.concat(values)
  // Past a few KiB the three-piece write costs less than checking, decoding and encoding the bytes again.
  return blob.length <= MAX_BLOB_TEXT && isUtf8(blob) ? blob.toString('utf8') : blob
}

/** Largest blob of small values sent as a string (see blobArg). */
const MAX_BLOB_TEXT = 16 << 10

/**
 * Encodes items of one group into KEYS and ARGV in the layout the write script reads (lua/write.ts): consecutive
 * plain sets of one scope and one `now` become one run; every key the script touches is declared.
 */
export function encodeBatch(
  ctx: BatchContext,
  group: string,
  items: Item[],
  flags: string,
  bulk?: BulkContext,
): EncodedBatch {
  const { standalone } = ctx
  const first = writeKeys(ctx.prefix, items[0]!.scope, standalone)
  // Further scopes of the batch (rare: a group commit across a plugin's scopes) add their own part of writeKeys.
  let more: ScopeKeys[] | undefined
  const firstScope = items[0]!.scope
  const entries: string[] = []
  const body: Arg[] = []
  const values: Buffer[] = []
  const records: BatchRecord[] = []
  let reserve = 0
  let asked = false
  for (let i = 0; i < items.length; ) {
    const item = items[i]!
    const { request, scope } = item
    if (scope !== firstScope && scope.id !== firstScope.id && !more?.some((s) => s.id === scope.id)) {
      more ??= []
      more.push(scope)
    }
    if (!isPlain(item)) {
      encodeGeneral(ctx.prefix, item, body, entries, values)
      for (const op of request.ops) if (op.type !== 'delete') reserve++
      records.push({ plain: false, item })
      i++
      continue
    }
    // A run shares one `now`, except a bulk run, which carries each request's (lua/write-bulk.ts): one run per
    // millisecond of calls would pay the run's bookkeeping each time.
    const bulky = bulk !== undefined && isBulkItem(item)
    let end = i + 1
    while (end < items.length) {
      const next = items[end]!
      if (next.scope.id !== scope.id || !isPlain(next)) break
      if (bulky ? !isBulkItem(next) : next.request.now !== request.now) break
      end++
    }
    const run = end === i + 1 && i === 0 && items.length === 1 ? items : items.slice(i, end)
    i = end
    if (bulky && isBulk(run)) {
      let count = 0
      for (const member of run) count += member.request.ops.length
      const taken = bulk.blocks.take(group, count)
      const want = bulk.blocks.want(group, bulk.expected)
      if (want > 0) asked = true
      records.push({ plain: true, items: run, bulk: { start: encodeBulk(run, count, taken, want, body, entries) } })
      continue
    }
    encodeRun(run, body, entries, values)
    for (const member of run) reserve += member.request.ops.length
    records.push({ plain: true, items: run })
  }
  const head = writeHeadKeys(standalone)
  let keys = first.length + entries.length
  if (more) for (const scope of more) keys += writeKeys(ctx.prefix, scope, standalone).length - head
  // KEYS and ARGV in one array of the exact size: the driver encodes it as it is.
  const args: Arg[] = new Array(CALL_HEAD + keys + HEADER_ARGS + body.length)
  let at = CALL_HEAD
  for (const key of first) args[at++] = key
  if (more) {
    for (const scope of more) {
      const own = writeKeys(ctx.prefix, scope, standalone)
      for (let k = head; k < own.length; k++) args[at++] = own[k]!
    }
  }
  for (const key of entries) args[at++] = key
  args[at++] = ctx.prefix
  args[at++] = standalone ? 's' : 'c'
  args[at++] = group
  args[at++] = String(ctx.graceMs)
  args[at++] = String(reserve)
  args[at++] = String(ctx.seqTtlMs)
  args[at++] = flags
  args[at++] = blobArg(values)
  args[at++] = String(keys - entries.length + 1) // the first entry key
  args[at++] = String(records.length)
  for (const arg of body) args[at++] = arg
  return { route: first[0]!, keys, call: args, records, asked }
}

/** The fixed ARGV before the body (lua/write.ts). */
const HEADER_ARGS = 10

function encodeRun(run: Item[], body: Arg[], entries: string[], values: Buffer[]): void {
  const first = run[0]!
  let single = true
  let shared: number | undefined | null = first.request.ops[0]!.type === 'set' ? expiresAt(first, 0) : undefined
  for (const item of run) {
    if (item.request.ops.length !== 1) single = false
    for (let o = 0; o < item.request.ops.length; o++) if (expiresAt(item, o) !== shared) shared = null
  }
  const expMode = shared === null ? '*' : shared === undefined ? '' : String(shared)
  body.push('P', String(first.request.now), first.scope.id, String(run.length), single ? '1' : '*', expMode)
  const prefix = first.scope.entries
  for (const item of run) {
    const { ops } = item.request
    if (!single) body.push(String(ops.length))
    for (const op of ops) {
      if (op.type !== 'set') continue
      entries.push(prefix + op.key)
      const exp = op.expiresAt === undefined ? '' : String(op.expiresAt)
      pushValue(op.value, exp, body, values)
      if (shared === null) body.push(exp)
    }
  }
}

function expiresAt(item: Item, index: number): number | undefined {
  const op = item.request.ops[index]!
  return op.type === 'set' ? op.expiresAt : undefined
}

function encodeGeneral(prefix: string, item: Item, body: Arg[], entries: string[], values: Buffer[]): void {
  const { request, scope } = item
  body.push(
    'G',
    String(request.now),
    scope.id,
    item.final ? 'n' : '',
    String(request.checks.length),
    String(request.ops.length),
    String(request.quotas.length),
  )
  for (const check of request.checks) {
    entries.push(scope.entries + check.key)
    body.push(check.version ?? '-')
  }
  for (const op of request.ops) {
    entries.push(scope.entries + op.key)
    const exp = op.type === 'delete' || op.expiresAt === undefined ? '' : String(op.expiresAt)
    if (op.type === 'set') {
      body.push('s')
      pushValue(op.value, exp, body, values)
      body.push(exp)
    } else if (op.type === 'incr') body.push('i', String(op.by), exp)
    else body.push('d')
  }
  for (const rule of request.quotas) {
    // The rule's scope is the written scope or an ancestor: its usage key is among the declared level keys.
    const { id } = scopeKeys(prefix, rule.scope) // cached by path: core reuses a view's rule objects
    body.push(
      id,
      rule.maxKeys === undefined ? '' : String(rule.maxKeys),
      rule.maxBytes === undefined ? '' : String(rule.maxBytes),
    )
  }
}

/** Size of what a request sends, to cut batches. */
export function weight(request: WriteRequest): number {
  let size = 64
  for (const op of request.ops) size += 32 + op.key.length + (op.type === 'set' ? op.value.byteLength : 0)
  return size
}
