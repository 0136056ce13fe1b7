import {
  incrSum,
  notANumber,
  numberCodec,
  type OpResult,
  utf8Length,
  type WriteOp,
  type WriteRequest,
  type WriteResult,
} from '@cubby/core/backend'
import { type Measured, quotaRefusal } from './quota.js'
import type { ScopeIds, ScopeRow } from './scope-ids.js'
import type { Statements } from './statements.js'
import type { Sweeper } from './sweep.js'
import type { Tx } from './tx.js'

/** A row a request will leave, staged before anything is written; `undefined` in the stage means deleted. */
interface Staged {
  value: Uint8Array
  version: number
  expiresAt: number | undefined
  size: number
}

/**
 * A stored row as the raw statements return it (arrays are cheaper than objects on this hot path): version,
 * expires_at, size and, when read for incr, the value. Read its fields by name through `COLUMN`.
 */
type Physical = [version: number, expiresAt: number | null, size: number, value?: Buffer]

/** Where each field of a `Physical` row is. */
const COLUMN = { version: 0, expiresAt: 1, size: 2, value: 3 } as const

/** Whether a stored row has not expired at `now`. */
function isLive(row: Physical, now: number): boolean {
  const expiresAt = row[COLUMN.expiresAt]
  return expiresAt === null || expiresAt > now
}

/** Versions are numbers from the shared counter, in base 36: short, opaque, never repeated. */
export function toVersion(counter: number): string {
  return counter.toString(36)
}

/** What applyWrite works with. */
export interface ApplyContext {
  statements: Statements
  ids: ScopeIds
  sweeper: Sweeper
}

/**
 * Applies one write request inside the group transaction. Everything that can refuse it (a check, incr on a
 * non-number, a quota) is decided before its first write, so a refusal leaves the transaction as it was (apart from
 * reclaiming expired rows, which is valid on its own) and only this caller fails.
 */
export function applyWrite(ctx: ApplyContext, tx: Tx, request: WriteRequest): WriteResult {
  const op = request.ops[0]
  if (request.ops.length === 1 && op!.type === 'set' && request.checks.length === 0 && request.quotas.length === 0) {
    return setOne(ctx, tx, request, op!)
  }
  const { now } = request
  const existing = ctx.ids.find(request.scope)
  const stored = new StoredRows(ctx.statements, existing)
  for (const check of request.checks) {
    const row = stored.live(check.key, now, false)
    if ((row ? toVersion(row[COLUMN.version]) : null) !== check.version) return { ok: false }
  }
  const staged = new Map<string, Staged | undefined>()
  const results: OpResult[] = []
  const events: Array<[string, number | null]> = []
  for (const op of request.ops) {
    let before: Staged | undefined
    if (staged.has(op.key)) before = staged.get(op.key)
    else {
      const row = stored.live(op.key, now, op.type === 'incr')
      before = row && {
        value: row[COLUMN.value]!,
        version: row[COLUMN.version],
        expiresAt: row[COLUMN.expiresAt] ?? undefined,
        size: row[COLUMN.size],
      }
    }
    if (op.type === 'delete') {
      staged.set(op.key, undefined)
      results.push({ existed: before !== undefined })
      if (before) events.push([op.key, null])
      continue
    }
    const version = tx.nextVersion()
    let row: Staged
    if (op.type === 'set') {
      row = { value: op.value, version, expiresAt: op.expiresAt, size: utf8Length(op.key) + op.value.byteLength }
      results.push({ existed: before !== undefined, version: toVersion(version) })
    } else {
      const base = before ? numberCodec.read(before.value) : 0
      if (base === undefined) throw notANumber(op.key)
      const sum = incrSum(op.key, base, op.by)
      const value = numberCodec.write(sum)
      const expiresAt = op.expiresAt ?? before?.expiresAt
      row = { value, version, expiresAt, size: utf8Length(op.key) + value.byteLength }
      results.push({ existed: before !== undefined, version: toVersion(version), number: sum })
    }
    staged.set(op.key, row)
    events.push([op.key, version])
  }
  let change = stored.measure(staged, now)
  if (request.quotas.length > 0) {
    const refusal = quotaRefusal(ctx, tx, request, change, () => {
      stored.forget()
      change = stored.measure(staged, now)
      return change
    })
    if (refusal) throw refusal
  }
  const scope = existing ?? ctx.ids.ensure(request.scope)
  for (const [key, row] of staged) {
    if (row) ctx.statements.put.run(scope.id, key, row.value, row.version, row.expiresAt ?? null)
    else if (change.replaced.has(key)) ctx.statements.remove.run(scope.id, key)
  }
  tx.addUsage(scope.ancestors, change.keys, change.bytes, change.expiring)
  for (const [key, version] of events) tx.log(scope.id, key, version)
  return { ok: true, results }
}

/** The most common request, a lone `set` with no checks or quotas, without the general path's bookkeeping. */
function setOne(ctx: ApplyContext, tx: Tx, request: WriteRequest, op: Extract<WriteOp, { type: 'set' }>): WriteResult {
  const scope = ctx.ids.find(request.scope) ?? ctx.ids.ensure(request.scope)
  let old: Physical | undefined
  if (tx.observed(scope.id)) old = ctx.statements.physical.get(scope.id, op.key)
  else {
    const [holds, ttl, watched, oldVersion, oldExpiresAt, oldSize] = ctx.statements.physicalFirst.get(
      tx.watcherCutoff,
      op.key,
      scope.id,
    )!
    tx.observe(scope.ancestors, holds, ttl, watched)
    if (oldVersion !== null) old = [oldVersion, oldExpiresAt, oldSize!]
  }
  const version = tx.nextVersion()
  const expiresAt = op.expiresAt ?? null
  ctx.statements.put.run(scope.id, op.key, op.value, version, expiresAt)
  const size = utf8Length(op.key) + op.value.byteLength
  if (old)
    tx.addUsage(
      scope.ancestors,
      0,
      size - old[COLUMN.size],
      (expiresAt === null ? 0 : 1) - (old[COLUMN.expiresAt] === null ? 0 : 1),
    )
  else tx.addUsage(scope.ancestors, 1, size, expiresAt === null ? 0 : 1)
  tx.log(scope.id, op.key, version)
  const existed = old !== undefined && isLive(old, request.now)
  return { ok: true, results: [{ existed, version: toVersion(version) }] }
}

/**
 * The rows a request touches, each read once: its physical size (expired rows count toward the counters until
 * reclaimed) and whether it is live. The value is read only for incr.
 */
class StoredRows {
  private readonly rows = new Map<string, Physical | undefined>()

  constructor(
    private readonly statements: Statements,
    private readonly scope: ScopeRow | undefined,
  ) {}

  private read(key: string, withValue: boolean): Physical | undefined {
    const known = this.rows.get(key)
    if (this.rows.has(key) && (!withValue || !known || known[COLUMN.value] !== undefined)) return known
    const row: Physical | undefined =
      this.scope && (withValue ? this.statements.physicalValue : this.statements.physical).get(this.scope.id, key)
    this.rows.set(key, row)
    return row
  }

  /** The row of a key if it is live (absent or expired: undefined). */
  live(key: string, now: number, withValue: boolean): Physical | undefined {
    const row = this.read(key, withValue)
    if (!row || !isLive(row, now)) return undefined
    return row
  }

  /** How the staged rows change the counters (against what is physically stored) and live usage. */
  measure(staged: Map<string, Staged | undefined>, now: number): Measured {
    const change: Measured = { keys: 0, bytes: 0, expiring: 0, live: { keys: 0, bytes: 0 }, replaced: new Set() }
    for (const [key, row] of staged) {
      const old = this.read(key, false)
      const oldLive = old !== undefined && isLive(old, now)
      if (old) change.replaced.add(key)
      change.keys += (row ? 1 : 0) - (old ? 1 : 0)
      change.bytes += (row?.size ?? 0) - (old?.[COLUMN.size] ?? 0)
      change.expiring += (row?.expiresAt !== undefined ? 1 : 0) - (old && old[COLUMN.expiresAt] !== null ? 1 : 0)
      change.live.keys += (row ? 1 : 0) - (oldLive ? 1 : 0)
      change.live.bytes += (row?.size ?? 0) - (oldLive ? old[COLUMN.size] : 0)
    }
    return change
  }

  /** Drops what was read (after reclaiming expired rows). */
  forget(): void {
    this.rows.clear()
  }
}
