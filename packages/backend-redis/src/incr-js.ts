import {
  BackendError,
  incrSum,
  notANumber,
  numberCodec,
  type StoredEntry,
  type WriteOp,
  type WriteRequest,
  type WriteResult,
} from '@cubby/core/backend'

/** Reads entries of the request's scope, and commits a request through the group commit. */
export interface IncrIo {
  read(request: WriteRequest, keys: string[]): Promise<(StoredEntry | undefined)[]>
  write(request: WriteRequest): Promise<WriteResult>
}

const MAX_ATTEMPTS = 50

/**
 * `incr` on a value only JavaScript can read (a number stored through superjson — NaN, -0, ±Infinity — or a format
 * the script does not know): read the touched keys, apply the ops here (with core's `incrSum`), and commit them as
 * sets guarded by the versions read. Retried with backoff while other writers get there first.
 */
export async function incrInJs(io: IncrIo, request: WriteRequest): Promise<WriteResult> {
  const keys = [...new Set([...request.checks.map((c) => c.key), ...request.ops.map((op) => op.key)])]
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const read = await io.read(request, keys)
    const current = new Map(keys.map((key, i) => [key, read[i]]))
    for (const check of request.checks)
      if ((current.get(check.key)?.version ?? null) !== check.version) return { ok: false }
    const ops: WriteOp[] = []
    const numbers: (number | undefined)[] = []
    const staged = new Map<string, { value: Uint8Array; expiresAt?: number } | undefined>()
    for (const op of request.ops) {
      const before = staged.has(op.key) ? staged.get(op.key) : current.get(op.key)
      if (op.type !== 'incr') {
        ops.push(op)
        numbers.push(undefined)
        staged.set(op.key, op.type === 'set' ? op : undefined)
        continue
      }
      const base = before ? numberCodec.read(before.value!) : 0
      if (base === undefined) throw notANumber(op.key)
      const sum = incrSum(op.key, base, op.by)
      const set: WriteOp = { type: 'set', key: op.key, value: numberCodec.write(sum) }
      const expiresAt = op.expiresAt ?? before?.expiresAt
      if (expiresAt !== undefined) set.expiresAt = expiresAt
      ops.push(set)
      numbers.push(sum)
      staged.set(op.key, set)
    }
    const checks = keys.map((key) => ({ key, version: current.get(key)?.version ?? null }))
    const result = await io.write({ ...request, checks, ops })
    if (result.ok) {
      return {
        ok: true,
        results: result.results.map((r, i) => (numbers[i] === undefined ? r : { ...r, number: numbers[i]! })),
      }
    }
    await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 ** attempt)))
  }
  throw new BackendError(
    `incr: gave up after ${MAX_ATTEMPTS} attempts, other writers kept changing the keys; retry later`,
  )
}
