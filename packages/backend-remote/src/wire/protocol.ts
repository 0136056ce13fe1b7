/**
 * Opcodes and body layouts of protocol version 1 (packages/server/PROTOCOL.md is the normative text). Both the
 * client (`@cubby/backend-remote`) and the server (`@cubby/server`) encode and decode frames with these functions.
 */

import type { ListQuery, OpResult, QuotaRule, StoredEntry, WriteCheck, WriteOp, WriteResult } from '@cubby/core/backend'
import { FrameError, type FrameReader, type FrameWriter } from './buffer.js'

/** The protocol version, also the WebSocket subprotocol `cubby.v1`. */
export const PROTOCOL_VERSION = 1
/** WebSocket subprotocol name the client asks for and the server accepts. */
export const SUBPROTOCOL = `cubby.v${PROTOCOL_VERSION}`

/** Client -> server operations (first byte of a request frame). */
export const Op = {
  AUTH: 0x01,
  RELEASE: 0x02,
  GET: 0x10,
  WRITE: 0x11,
  LIST: 0x12,
  CLEAR: 0x13,
  DROP: 0x14,
  SCOPES: 0x15,
  USAGE: 0x16,
  WATCH: 0x17,
  UNWATCH: 0x18,
  RESUME: 0x19,
} as const

/** Server -> client frame kinds (first byte of a server frame). */
export const Kind = {
  RESULT: 0x80,
  ERROR: 0x81,
  EVENT: 0x82,
  WATCH_END: 0x83,
  HELLO: 0x84,
} as const

/** Access bits of a session (AUTH result) and of tokens. */
export const Access = { read: 1, write: 2, watch: 4 } as const

/** The server's greeting, sent once right after the WebSocket opens. */
export interface Hello {
  version: number
  /** Largest frame the server accepts, in bytes. */
  maxFrameBytes: number
  /** Most requests a connection may have unanswered at once. */
  maxInFlight: number
  maxKeyBytes: number
  maxValueBytes: number
  maxBatchSize: number
  maxPageSize: number
  ttl: boolean
  watch: boolean
  quotas: boolean
  persistent: boolean
  minQuotaDepth: number
  /** The server's backend name, for messages. */
  backend: string
}

/** Writes a HELLO frame. */
export function writeHello(w: FrameWriter, hello: Hello): void {
  w.u8(Kind.HELLO).u32(0).u8(hello.version).u32(hello.maxFrameBytes).u32(hello.maxInFlight)
  w.u32(hello.maxKeyBytes).u32(hello.maxValueBytes).u32(hello.maxBatchSize).u32(hello.maxPageSize)
  w.u8((hello.ttl ? 1 : 0) | (hello.watch ? 2 : 0) | (hello.quotas ? 4 : 0) | (hello.persistent ? 8 : 0))
  w.u8(hello.minQuotaDepth).str(hello.backend)
}

/** Reads a HELLO body (after kind and id). */
export function readHello(r: FrameReader): Hello {
  const version = r.u8()
  const maxFrameBytes = r.u32()
  const maxInFlight = r.u32()
  const maxKeyBytes = r.u32()
  const maxValueBytes = r.u32()
  const maxBatchSize = r.u32()
  const maxPageSize = r.u32()
  const caps = r.u8()
  const minQuotaDepth = r.u8()
  const backend = r.str()
  return {
    version,
    maxFrameBytes,
    maxInFlight,
    maxKeyBytes,
    maxValueBytes,
    maxBatchSize,
    maxPageSize,
    ttl: (caps & 1) !== 0,
    watch: (caps & 2) !== 0,
    quotas: (caps & 4) !== 0,
    persistent: (caps & 8) !== 0,
    minQuotaDepth,
    backend,
  }
}

/** What an AUTH result says about the session's token. */
export interface SessionInfo {
  /** Whether the token opens the whole store (host tools) rather than one plugin context. */
  root: boolean
  /** Bit set of `Access`. */
  access: number
  workspace?: string
  plugin?: string
  user?: string
}

/** Writes an AUTH result body. */
export function writeSessionInfo(w: FrameWriter, info: SessionInfo): void {
  w.u8(info.root ? 1 : 0).u8(info.access)
  if (!info.root) {
    w.str(info.workspace!).str(info.plugin!)
    w.u8(info.user === undefined ? 0 : 1)
    if (info.user !== undefined) w.str(info.user)
  }
}

/** Reads an AUTH result body. */
export function readSessionInfo(r: FrameReader): SessionInfo {
  const root = r.u8() === 1
  const access = r.u8()
  if (root) return { root, access }
  const workspace = r.str()
  const plugin = r.str()
  const user = r.u8() === 1 ? r.str() : undefined
  return user === undefined ? { root, access, workspace, plugin } : { root, access, workspace, plugin, user }
}

const HAS_VALUE = 1
const HAS_EXPIRY = 2

/**
 * Writes one stored entry (without its key): flags, version, time to live, value. Expiry travels as the milliseconds
 * left at the server's `now`, so the two clocks never need to agree.
 */
export function writeEntry(w: FrameWriter, entry: StoredEntry, now: number): void {
  const flags = (entry.value ? HAS_VALUE : 0) | (entry.expiresAt !== undefined ? HAS_EXPIRY : 0)
  w.u8(flags).str(entry.version)
  if (entry.expiresAt !== undefined) w.f64(entry.expiresAt - now)
  if (entry.value) w.bytes(entry.value)
}

/** Reads one entry written by `writeEntry`; `now` is the client's clock for the call. */
export function readEntry(r: FrameReader, key: string, now: number): StoredEntry {
  const flags = r.u8()
  const version = r.str()
  const entry: StoredEntry = { key, version }
  if (flags & HAS_EXPIRY) entry.expiresAt = now + r.f64()
  if (flags & HAS_VALUE) entry.value = r.bytes(false)
  return entry
}

/** Writes the body of a GET result. */
export function writeGetResult(w: FrameWriter, entries: readonly (StoredEntry | undefined)[], now: number): void {
  w.u32(entries.length)
  for (const entry of entries) {
    if (!entry) w.u8(0)
    else {
      w.u8(1)
      writeEntry(w, entry, now)
    }
  }
}

/** Reads a GET result for `keys`. */
export function readGetResult(r: FrameReader, keys: readonly string[], now: number): (StoredEntry | undefined)[] {
  const count = r.u32()
  if (count !== keys.length) throw new FrameError('GET result has the wrong number of entries')
  const out: (StoredEntry | undefined)[] = new Array(count)
  for (let i = 0; i < count; i++) out[i] = r.u8() === 1 ? readEntry(r, keys[i]!, now) : undefined
  return out
}

/** Writes the body of a LIST result. */
export function writeListResult(w: FrameWriter, entries: readonly StoredEntry[], now: number): void {
  w.u32(entries.length)
  for (const entry of entries) {
    w.str(entry.key)
    writeEntry(w, entry, now)
  }
}

/** Reads a LIST result. */
export function readListResult(r: FrameReader, now: number): StoredEntry[] {
  const count = r.u32()
  const out: StoredEntry[] = []
  for (let i = 0; i < count; i++) out.push(readEntry(r, r.str(), now))
  return out
}

const Q_REVERSE = 1
const Q_VALUES = 2
const Q_PREFIX = 4
const Q_START = 8
const Q_END = 16
const Q_AFTER = 32
const Q_MAX_BYTES = 64

/** A list query on the wire: the contract's `ListQuery` without `now` (the server's clock decides). */
export type WireListQuery = Omit<ListQuery, 'now'>

/** Writes a LIST query body (after the path). */
export function writeListQuery(w: FrameWriter, q: WireListQuery): void {
  const flags =
    (q.reverse ? Q_REVERSE : 0) |
    (q.values ? Q_VALUES : 0) |
    (q.prefix !== undefined ? Q_PREFIX : 0) |
    (q.start !== undefined ? Q_START : 0) |
    (q.end !== undefined ? Q_END : 0) |
    (q.after !== undefined ? Q_AFTER : 0) |
    (q.maxBytes !== undefined ? Q_MAX_BYTES : 0)
  w.u8(flags).u32(q.limit)
  if (q.prefix !== undefined) w.str(q.prefix)
  if (q.start !== undefined) w.str(q.start)
  if (q.end !== undefined) w.str(q.end)
  if (q.after !== undefined) w.str(q.after)
  if (q.maxBytes !== undefined) w.f64(q.maxBytes)
}

/** Reads a LIST query body. */
export function readListQuery(r: FrameReader): WireListQuery {
  const flags = r.u8()
  const q: WireListQuery = { reverse: (flags & Q_REVERSE) !== 0, values: (flags & Q_VALUES) !== 0, limit: r.u32() }
  if (flags & Q_PREFIX) q.prefix = r.str()
  if (flags & Q_START) q.start = r.str()
  if (flags & Q_END) q.end = r.str()
  if (flags & Q_AFTER) q.after = r.str()
  if (flags & Q_MAX_BYTES) q.maxBytes = r.f64()
  return q
}

const OP_SET = 1
const OP_DELETE = 2
const OP_INCR = 3

/** A batch on the wire: checks, ops with relative TTLs (`ttl` ms from the server's now), and extra quota caps. */
export interface WireWrite {
  checks: WriteCheck[]
  ops: WireOp[]
  /** Extra caps the client asks for, paths relative to the session's base (honoured for root sessions only). */
  quotas: QuotaRule[]
}

/** A write op on the wire: `ttl` replaces the contract's absolute `expiresAt`. */
export type WireOp =
  | { type: 'set'; key: string; value: Uint8Array; ttl?: number }
  | { type: 'delete'; key: string }
  | { type: 'incr'; key: string; by: number; ttl?: number }

/** Writes a WRITE body (after the path). Absolute expiry times become TTLs relative to `now`. */
export function writeWrite(
  w: FrameWriter,
  checks: readonly WriteCheck[],
  ops: readonly WriteOp[],
  quotas: readonly QuotaRule[],
  now: number,
): void {
  w.u32(checks.length)
  for (const check of checks) {
    w.str(check.key)
    if (check.version === null) w.u8(0)
    else w.u8(1).str(check.version)
  }
  w.u32(ops.length)
  for (const op of ops) {
    if (op.type === 'delete') {
      w.u8(OP_DELETE).str(op.key)
      continue
    }
    if (op.type === 'set') w.u8(OP_SET).str(op.key).bytes(op.value)
    else w.u8(OP_INCR).str(op.key).f64(op.by)
    if (op.expiresAt === undefined) w.u8(0)
    else w.u8(1).f64(Math.max(1, op.expiresAt - now))
  }
  w.u32(quotas.length)
  for (const rule of quotas) {
    w.path(rule.scope)
    w.u8((rule.maxKeys !== undefined ? 1 : 0) | (rule.maxBytes !== undefined ? 2 : 0))
    if (rule.maxKeys !== undefined) w.f64(rule.maxKeys)
    if (rule.maxBytes !== undefined) w.f64(rule.maxBytes)
  }
}

/** Reads a WRITE body. */
export function readWrite(r: FrameReader): WireWrite {
  const checks: WriteCheck[] = []
  for (let n = r.u32(), i = 0; i < n; i++) {
    const key = r.str()
    checks.push({ key, version: r.u8() === 1 ? r.str() : null })
  }
  const ops: WireOp[] = []
  for (let n = r.u32(), i = 0; i < n; i++) {
    const type = r.u8()
    const key = r.str()
    if (type === OP_DELETE) {
      ops.push({ type: 'delete', key })
      continue
    }
    let op: WireOp
    if (type === OP_SET) op = { type: 'set', key, value: r.bytes() }
    else if (type === OP_INCR) op = { type: 'incr', key, by: r.f64() }
    else throw new FrameError(`unknown write op type ${type}`)
    if (r.u8() === 1) op.ttl = r.f64()
    ops.push(op)
  }
  const quotas: QuotaRule[] = []
  for (let n = r.u32(), i = 0; i < n; i++) {
    const scope = r.path()
    const flags = r.u8()
    const rule: QuotaRule = { scope }
    if (flags & 1) rule.maxKeys = r.f64()
    if (flags & 2) rule.maxBytes = r.f64()
    quotas.push(rule)
  }
  return { checks, ops, quotas }
}

/** Writes a WRITE result body. */
export function writeWriteResult(w: FrameWriter, result: WriteResult): void {
  if (!result.ok) {
    w.u8(0)
    return
  }
  w.u8(1).u32(result.results.length)
  for (const item of result.results) {
    w.u8((item.existed ? 1 : 0) | (item.version !== undefined ? 2 : 0) | (item.number !== undefined ? 4 : 0))
    if (item.version !== undefined) w.str(item.version)
    if (item.number !== undefined) w.f64(item.number)
  }
}

/** Reads a WRITE result body. */
export function readWriteResult(r: FrameReader): WriteResult {
  if (r.u8() === 0) return { ok: false }
  const results: OpResult[] = []
  for (let n = r.u32(), i = 0; i < n; i++) {
    const flags = r.u8()
    const item: OpResult = { existed: (flags & 1) !== 0 }
    if (flags & 2) item.version = r.str()
    if (flags & 4) item.number = r.f64()
    results.push(item)
  }
  return { ok: true, results }
}

/** A watch event on the wire. */
export interface WireEvent {
  /** Position in the watch's stream, from 1; a resumed watch continues after the last one the client saw. */
  seq: number
  type: 'set' | 'delete'
  key: string
  version?: string
}

/** Writes an EVENT frame for watch `handle`. */
export function writeEvent(w: FrameWriter, handle: number, event: WireEvent): void {
  w.u8(Kind.EVENT)
    .u32(handle)
    .f64(event.seq)
    .u8(event.type === 'set' ? 1 : 2)
    .str(event.key)
  if (event.version !== undefined) w.u8(1).str(event.version)
  else w.u8(0)
}

/** Reads an EVENT body (after kind and handle). */
export function readEvent(r: FrameReader): WireEvent {
  const seq = r.f64()
  const type = r.u8() === 1 ? 'set' : 'delete'
  const key = r.str()
  return r.u8() === 1 ? { seq, type, key, version: r.str() } : { seq, type, key }
}
