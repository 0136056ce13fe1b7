import type { WriteCheck, WriteOp } from '../backend/contract.js'
import { describe } from '../describe.js'
import { InvalidConfigError } from '../errors.js'
import type { AtomicBatch, AtomicResult } from '../types.js'
import type { ScopeContext } from './context.js'

type Step =
  | { kind: 'check'; key: unknown; version: unknown }
  | { kind: 'set'; key: unknown; value: unknown; options: { ttl?: number } | undefined }
  | { kind: 'delete'; key: unknown }
  | { kind: 'incr'; key: unknown; by: unknown; options: { ttl?: number } | undefined }

/** Collects steps; everything is validated at `commit()`, so a bad step rejects the commit and nothing is written. */
export class Atomic implements AtomicBatch {
  private readonly steps: Step[] = []
  private committed = false

  /** A true private field: plugin code holding this batch cannot reach the engine or backend behind it. */
  readonly #scope: ScopeContext

  constructor(scope: ScopeContext) {
    this.#scope = scope
  }

  check(key: string, version: string | null): AtomicBatch {
    this.steps.push({ kind: 'check', key, version })
    return this
  }

  set(key: string, value: unknown, options?: { ttl?: number }): AtomicBatch {
    this.steps.push({ kind: 'set', key, value, options })
    return this
  }

  delete(key: string): AtomicBatch {
    this.steps.push({ kind: 'delete', key })
    return this
  }

  incr(key: string, by = 1, options?: { ttl?: number }): AtomicBatch {
    this.steps.push({ kind: 'incr', key, by, options })
    return this
  }

  async commit(): Promise<AtomicResult> {
    if (this.committed)
      throw new InvalidConfigError('atomic', 'this batch was already committed; start a new one with atomic()')
    this.committed = true
    const scope = this.#scope
    const now = scope.engine.clock()
    const checks: WriteCheck[] = []
    const ops: WriteOp[] = []
    for (const step of this.steps) {
      const key = scope.key(step.key)
      if (step.kind === 'check') {
        checks.push({ key, version: scope.version('atomic.check', step.version) })
      } else if (step.kind === 'delete') {
        ops.push({ type: 'delete', key })
      } else if (step.kind === 'set') {
        const { ttl } = scope.options('atomic.set', step.options, ['ttl'])
        const op: WriteOp = { type: 'set', key, value: scope.encode(key, step.value) }
        const expiresAt = scope.expiry('atomic.set.ttl', ttl, now)
        if (expiresAt !== undefined) op.expiresAt = expiresAt
        ops.push(op)
      } else {
        if (typeof step.by !== 'number' || !Number.isFinite(step.by)) {
          throw new InvalidConfigError('atomic.incr.by', `must be a finite number, got ${describe(step.by)}`)
        }
        const { ttl } = scope.options('atomic.incr', step.options, ['ttl'])
        const op: WriteOp = { type: 'incr', key, by: step.by }
        const expiresAt = scope.expiry('atomic.incr.ttl', ttl, now)
        if (expiresAt !== undefined) op.expiresAt = expiresAt
        ops.push(op)
      }
    }
    const result = await scope.write('atomic', checks, ops, now)
    if (!result.ok) return { ok: false }
    const versions: Record<string, string> = Object.create(null)
    ops.forEach((op, i) => {
      const version = result.results[i]!.version
      if (op.type === 'delete') delete versions[op.key]
      else if (version !== undefined) versions[op.key] = version
    })
    return { ok: true, versions }
  }
}
