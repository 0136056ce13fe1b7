import {
  incrSum,
  notANumber,
  numberCodec,
  type OpResult,
  type ScopePath,
  utf8Length,
  type WriteRequest,
  type WriteResult,
} from '@cubby/core/backend'
import { type Measured, quotaRefusal } from './quota.js'
import type { Physical, Staged, Tx } from './tx.js'

/** Versions are numbers from the shared sequence, in base 36: short, opaque, never repeated. */
export function toVersion(counter: number): string {
  return counter.toString(36)
}

const isLive = (row: Physical | undefined, now: number): row is Physical =>
  row !== undefined && (row.expiresAt === null || row.expiresAt > now)

/**
 * Reads what a group of write requests needs in one round trip: their scope rows (created for requests that write),
 * the rows of every key they check or write (values for incr), the counters of their quota scopes, and whether
 * their scopes are watched.
 */
export async function prefetchWrites(tx: Tx, requests: readonly WriteRequest[]): Promise<void> {
  if (requests.length === 0) return
  const writing = requests.filter((r) => r.ops.length > 0).map((r) => r.scope)
  const reading = requests.filter((r) => r.ops.length === 0).map((r) => r.scope)
  const quotaScopes: ScopePath[] = []
  for (const request of requests) for (const rule of request.quotas) quotaScopes.push(rule.scope)
  const rows = [
    ...(await tx.scopes(writing, true)),
    ...(await tx.scopes(reading, false)),
    ...(await tx.scopes(quotaScopes, false)),
  ]
  const keys: Array<[number, string, boolean]> = []
  const ids: number[] = []
  for (const row of rows) if (row) ids.push(row.id)
  for (const request of requests) {
    const row = (await tx.scopes([request.scope], false))[0]
    if (!row) continue
    for (const check of request.checks) keys.push([row.id, check.key, false])
    for (const op of request.ops) keys.push([row.id, op.key, op.type === 'incr'])
  }
  await tx.prefetch(keys, ids)
}

/**
 * Applies one write request inside the group transaction, against the rows the transaction sees. Everything that
 * can refuse it (a check, incr on a non-number, a quota) is decided before it stages anything, so a refusal leaves
 * the transaction as it was (apart from reclaiming expired rows, which is valid alone) and only this caller fails.
 */
export async function applyWrite(tx: Tx, request: WriteRequest): Promise<WriteResult> {
  const { now } = request
  const scope = (await tx.scopes([request.scope], request.ops.length > 0))[0]
  const read = (key: string, withValue: boolean) =>
    scope ? tx.physical(scope.id, key, withValue) : Promise.resolve(undefined)
  for (const check of request.checks) {
    const row = await read(check.key, false)
    if ((isLive(row, now) ? toVersion(row.version) : null) !== check.version) return { ok: false }
  }
  if (!scope) return { ok: true, results: [] } // only checks, on a scope never written
  const staged = new Map<string, Staged | null>()
  const results: OpResult[] = []
  const events: Array<[string, number | null]> = []
  for (const op of request.ops) {
    let before: Staged | null | undefined
    if (staged.has(op.key)) before = staged.get(op.key)
    else {
      const row = await read(op.key, op.type === 'incr')
      before = isLive(row, now)
        ? { value: row.value ?? Buffer.alloc(0), version: row.version, expiresAt: row.expiresAt, size: row.size }
        : null
    }
    if (op.type === 'delete') {
      staged.set(op.key, null)
      results.push({ existed: before !== null })
      if (before) events.push([op.key, null])
      continue
    }
    const version = tx.nextVersion()
    let row: Staged
    if (op.type === 'set') {
      const size = utf8Length(op.key) + op.value.byteLength
      row = { value: op.value, version, expiresAt: op.expiresAt ?? null, size }
      results.push({ existed: before !== null, version: toVersion(version) })
    } else {
      const base = before ? numberCodec.read(before.value) : 0
      if (base === undefined) throw notANumber(op.key)
      const sum = incrSum(op.key, base, op.by)
      const value = numberCodec.write(sum)
      const expiresAt = op.expiresAt ?? before?.expiresAt ?? null
      row = { value, version, expiresAt, size: utf8Length(op.key) + value.byteLength }
      results.push({ existed: before !== null, version: toVersion(version), number: sum })
    }
    staged.set(op.key, row)
    events.push([op.key, version])
  }
  const measure = async (): Promise<Measured> => {
    const change: Measured = { keys: 0, bytes: 0, expiring: 0, live: { keys: 0, bytes: 0 } }
    for (const [key, row] of staged) {
      const old = await read(key, false)
      const oldLive = isLive(old, now)
      change.keys += (row ? 1 : 0) - (old ? 1 : 0)
      change.bytes += (row?.size ?? 0) - (old?.size ?? 0)
      change.expiring += (row && row.expiresAt !== null ? 1 : 0) - (old && old.expiresAt !== null ? 1 : 0)
      change.live.keys += (row ? 1 : 0) - (oldLive ? 1 : 0)
      change.live.bytes += (row?.size ?? 0) - (oldLive ? old.size : 0)
    }
    return change
  }
  let change = await measure()
  if (request.quotas.length > 0) {
    const refusal = await quotaRefusal(tx, request, change, async () => {
      change = await measure()
      return change
    })
    if (refusal) throw refusal
  }
  for (const [key, row] of staged) {
    // Deleting a key with no stored row has nothing to write.
    if (row || (await read(key, false))) tx.put(scope.id, key, row)
  }
  tx.addUsage(scope.ancestors, change.keys, change.bytes, change.expiring)
  if (events.length > 0 && (await tx.isWatched(scope.id))) {
    for (const [key, version] of events) tx.record(scope.id, key, version)
  }
  return { ok: true, results }
}
