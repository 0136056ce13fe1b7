import {
  notANumber,
  numberCodec,
  type OpResult,
  type QuotaExceededError,
  quotaCheck,
  utf8Length,
  type WriteRequest,
  type WriteResult,
} from '@cubby/core/backend'
import type { ScopeIds, ScopeRow } from './scope-ids.js'
import type { PhysicalRow, Statements } from './statements.js'
import type { Sweeper } from './sweep.js'
import type { Tx } from './tx.js'

/** A row a request will leave, staged before anything is written; `undefined` in the stage means deleted. */
interface Staged {
  value: Uint8Array
  version: number
  expiresAt: number | undefined
  size: number
}

/** Versions are the shared counter in base 36: short, opaque, never repeated. */
export function toVersion(counter: number): string {
  return counter.toString(36)
}

/**
 * Applies one write request inside the group transaction. Everything that can refuse it (a check, incr on a
 * non-number, a quota) is decided before the first write, so a refusal leaves the transaction as it was and only
 * this caller fails.
 */
export function applyWrite(
  statements: Statements,
  ids: ScopeIds,
  sweeper: Sweeper,
  tx: Tx,
  request: WriteRequest,
): WriteResult {
  const { now } = request
  const existing = ids.find(request.scope)
  const stored = new StoredRows(statements, existing)
  for (const check of request.checks) {
    const row = stored.live(check.key, now, false)
    if ((row ? toVersion(row.version) : null) !== check.version) return { ok: false }
  }
  const staged = new Map<string, Staged | undefined>()
  const results: OpResult[] = []
  const events: Array<[string, number | null]> = []
  for (const op of request.ops) {
    const before = staged.has(op.key) ? staged.get(op.key) : stored.live(op.key, now, op.type === 'incr')
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
      const base = before ? numberCodec.read(before.value!) : 0
      if (base === undefined) throw notANumber(op.key)
      const sum = base + op.by
      const value = numberCodec.write(sum)
      const expiresAt = op.expiresAt ?? before?.expiresAt
      row = { value, version, expiresAt, size: utf8Length(op.key) + value.byteLength }
      results.push({ existed: before !== undefined, version: toVersion(version), number: sum })
    }
    staged.set(op.key, row)
    events.push([op.key, version])
  }
  let change = stored.measure(staged)
  if (request.quotas.length > 0) {
    let refusal = overQuota(ids, tx, request, change)
    // Expired entries still count until reclaimed: reclaim them, then decide again.
    if (refusal && sweeper.reclaim(tx, now) > 0) {
      stored.forget()
      change = stored.measure(staged)
      refusal = overQuota(ids, tx, request, change)
    }
    if (refusal) throw refusal
  }
  const scope = existing ?? ids.ensure(request.scope)
  for (const [key, row] of staged) {
    if (row) statements.put.run(scope.id, key, row.value, row.version, row.expiresAt ?? null)
    else if (change.replaced.has(key)) statements.remove.run(scope.id, key)
  }
  tx.addUsage(scope.ancestors, change.keys, change.bytes)
  for (const [key, version] of events) tx.log(scope.id, key, version)
  return { ok: true, results }
}

/** A stored row as a staged one: what an op sees as "before". */
type Live = Omit<Staged, 'value'> & { value?: Uint8Array }

/**
 * The rows a request touches, each read once: its physical size (expired rows count toward usage until
 * reclaimed) and whether it is live. The value is read only for incr.
 */
class StoredRows {
  private readonly rows = new Map<string, (PhysicalRow & { value?: Buffer }) | undefined>()

  constructor(
    private readonly statements: Statements,
    private readonly scope: ScopeRow | undefined,
  ) {}

  private read(key: string, withValue: boolean): (PhysicalRow & { value?: Buffer }) | undefined {
    const known = this.rows.get(key)
    if (this.rows.has(key) && (!withValue || !known || known.value !== undefined)) return known
    const row =
      this.scope && (withValue ? this.statements.physicalValue : this.statements.physical).get(this.scope.id, key)
    this.rows.set(key, row)
    return row
  }

  /** The live row of a key, or undefined when absent or expired. */
  live(key: string, now: number, withValue: boolean): Live | undefined {
    const row = this.read(key, withValue)
    if (!row || (row.expires_at !== null && row.expires_at <= now)) return undefined
    return { value: row.value, version: row.version, expiresAt: row.expires_at ?? undefined, size: row.size }
  }

  /** How the staged rows change usage against what is physically stored. */
  measure(staged: Map<string, Staged | undefined>) {
    let keys = 0
    let bytes = 0
    const replaced = new Set<string>()
    for (const [key, row] of staged) {
      const old = this.read(key, false)
      if (old) replaced.add(key)
      keys += (row ? 1 : 0) - (old ? 1 : 0)
      bytes += (row?.size ?? 0) - (old?.size ?? 0)
    }
    return { keys, bytes, replaced }
  }

  /** Drops what was read (after reclaiming expired rows). */
  forget(): void {
    this.rows.clear()
  }
}

function overQuota(
  ids: ScopeIds,
  tx: Tx,
  request: WriteRequest,
  change: { keys: number; bytes: number },
): QuotaExceededError | undefined {
  for (const rule of request.quotas) {
    const row = ids.find(rule.scope)
    const before = row ? tx.usageOf(row.id) : { keys: 0, bytes: 0 }
    const error = quotaCheck(rule, before, { keys: before.keys + change.keys, bytes: before.bytes + change.bytes })
    if (error) return error
  }
  return undefined
}
