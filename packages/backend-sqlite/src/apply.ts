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
  for (const check of request.checks) {
    const row = existing && statements.getMeta.get(existing.id, check.key, now)
    if ((row ? toVersion(row.version) : null) !== check.version) return { ok: false }
  }
  const staged = new Map<string, Staged | undefined>()
  const results: OpResult[] = []
  const events: Array<[string, number | null]> = []
  for (const op of request.ops) {
    const before = staged.has(op.key) ? staged.get(op.key) : readLive(statements, existing, op.key, now)
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
      const sum = base + op.by
      const value = numberCodec.write(sum)
      row = {
        value,
        version,
        expiresAt: op.expiresAt ?? before?.expiresAt,
        size: utf8Length(op.key) + value.byteLength,
      }
      results.push({ existed: before !== undefined, version: toVersion(version), number: sum })
    }
    staged.set(op.key, row)
    events.push([op.key, version])
  }
  let change = measure(statements, existing, staged)
  if (request.quotas.length > 0) {
    let refusal = overQuota(ids, tx, request, change)
    // Expired entries still count until reclaimed: reclaim them, then decide again.
    if (refusal && sweeper.reclaim(tx, now) > 0) {
      change = measure(statements, existing, staged)
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

function readLive(statements: Statements, scope: ScopeRow | undefined, key: string, now: number): Staged | undefined {
  const row = scope && statements.getValue.get(scope.id, key, now)
  return row ? { value: row.value, version: row.version, expiresAt: row.expires_at ?? undefined, size: 0 } : undefined
}

/** How the staged rows change usage, against the rows physically stored now (expired ones included). */
function measure(statements: Statements, scope: ScopeRow | undefined, staged: Map<string, Staged | undefined>) {
  let keys = 0
  let bytes = 0
  const replaced = new Set<string>()
  for (const [key, row] of staged) {
    const old = scope && statements.physical.get(scope.id, key)
    if (old) replaced.add(key)
    keys += (row ? 1 : 0) - (old ? 1 : 0)
    bytes += (row?.size ?? 0) - (old?.size ?? 0)
  }
  return { keys, bytes, replaced }
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
