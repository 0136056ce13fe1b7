import {
  notANumber,
  numberCodec,
  type OpResult,
  QuotaExceededError,
  UnsupportedError,
  type WriteOp,
  type WriteRequest,
  type WriteResult,
} from '@cubby/core/backend'
import type { Connection } from './connection.js'
import { parseEntry } from './entry.js'
import { entryKey, type ScopeKeys, scopeKeys, versionKey } from './keys.js'
import { SCRIPTS } from './scripts.js'

interface Item {
  request: WriteRequest
  scope: ScopeKeys
  resolve(result: WriteResult): void
  reject(error: unknown): void
}

/** What the script says about one request. */
type Verdict = { kind: 'done'; result: WriteResult } | { kind: 'js' }

/**
 * Group commit for Redis: write requests issued in the same tick for the same group go to the server as one call
 * of the write script, which applies them in order, each all-or-nothing.
 */
export class Writer {
  private readonly pending = new Map<string, { scope: ScopeKeys; items: Item[] }>()
  private scheduled = false
  private readonly inFlight = new Set<Promise<unknown>>()

  constructor(
    private readonly connection: Connection,
    private readonly prefix: string,
    private readonly graceMs: number,
    private readonly fail: (error: unknown) => Error,
  ) {}

  /** Queues a request; the result arrives after the script that carries it has run. */
  write(request: WriteRequest): Promise<WriteResult> {
    const scope = scopeKeys(this.prefix, request.scope)
    for (const rule of request.quotas) {
      if (scopeKeys(this.prefix, rule.scope).group !== scope.group) {
        return Promise.reject(new UnsupportedError('the redis backend enforces quotas only on scopes at depth >= 2'))
      }
    }
    return new Promise<WriteResult>((resolve, reject) => {
      let batch = this.pending.get(scope.group)
      if (!batch) {
        batch = { scope, items: [] }
        this.pending.set(scope.group, batch)
      }
      batch.items.push({ request, scope, resolve, reject })
      if (!this.scheduled) {
        this.scheduled = true
        queueMicrotask(() => this.flush())
      }
    })
  }

  /** Resolves once every call sent so far has settled. */
  async drain(): Promise<void> {
    while (this.pending.size > 0 || this.inFlight.size > 0) {
      if (this.pending.size > 0) this.flush()
      await Promise.allSettled([...this.inFlight])
    }
  }

  private flush(): void {
    this.scheduled = false
    const batches = [...this.pending.values()]
    this.pending.clear()
    for (const { scope, items } of batches) {
      const now = Math.max(...items.map((item) => item.request.now))
      const args: Array<string | Buffer> = [String(now), scope.group, String(this.graceMs), String(items.length)]
      for (const item of items) encodeRequest(this.prefix, item, args)
      const call = SCRIPTS.write.run(this.connection, versionKey(scope), args).then(
        (reply) => {
          const answers = reply as unknown[][]
          for (const [i, answer] of answers.entries()) this.settle(items[i]!, answer)
        },
        (error: unknown) => {
          const failure = this.fail(error)
          for (const item of items) item.reject(failure)
        },
      )
      this.inFlight.add(call)
      void call.finally(() => this.inFlight.delete(call))
    }
  }

  private settle(item: Item, answer: unknown[]): void {
    let verdict: Verdict
    try {
      verdict = decode(item, answer)
    } catch (error) {
      item.reject(error)
      return
    }
    if (verdict.kind === 'done') item.resolve(verdict.result)
    else this.computeInJs(item.request).then(item.resolve, item.reject)
  }

  /**
   * incr on a value only JavaScript can read (a number stored through superjson: NaN, -0, ±Infinity) or a sum that
   * overflows: read the touched keys, apply the ops here, and commit them as sets guarded by the versions read.
   * Retried when another writer got there first.
   */
  private async computeInJs(request: WriteRequest): Promise<WriteResult> {
    const scope = scopeKeys(this.prefix, request.scope)
    for (let attempt = 0; ; attempt++) {
      const keys = [...new Set([...request.checks.map((c) => c.key), ...request.ops.map((op) => op.key)])]
      const names = keys.map((key) => entryKey(scope, key))
      const raw = (await this.connection.send(names[0]!, ['MGET', ...names])) as (Buffer | null)[]
      const current = new Map(
        keys.map((key, i) => [key, raw[i] ? parseEntry(key, raw[i]!, request.now, true) : undefined]),
      )
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
        const sum = base + op.by
        const set: WriteOp = { type: 'set', key: op.key, value: numberCodec.write(sum) }
        const expiresAt = op.expiresAt ?? before?.expiresAt
        if (expiresAt !== undefined) set.expiresAt = expiresAt
        ops.push(set)
        numbers.push(sum)
        staged.set(op.key, set)
      }
      const checks = keys.map((key) => ({ key, version: current.get(key)?.version ?? null }))
      const result = await this.write({ ...request, checks, ops })
      if (result.ok) {
        return {
          ok: true,
          results: result.results.map((r, i) => (numbers[i] === undefined ? r : { ...r, number: numbers[i]! })),
        }
      }
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 ** attempt)))
    }
  }
}

/** Appends one request's arguments, in the layout the write script reads. */
function encodeRequest(prefix: string, item: Item, args: Array<string | Buffer>): void {
  const { request, scope } = item
  args.push(scope.id, String(request.checks.length))
  for (const check of request.checks) args.push(check.key, check.version ?? '-')
  args.push(String(request.ops.length))
  for (const op of request.ops) {
    const expiresAt = op.type === 'delete' || op.expiresAt === undefined ? '' : String(op.expiresAt)
    if (op.type === 'set')
      args.push('s', op.key, Buffer.from(op.value.buffer, op.value.byteOffset, op.value.byteLength), expiresAt)
    else if (op.type === 'delete') args.push('d', op.key, '', '')
    else args.push('i', op.key, String(op.by), expiresAt)
  }
  args.push(String(request.quotas.length))
  for (const rule of request.quotas) {
    args.push(
      scopeKeys(prefix, rule.scope).id,
      rule.maxKeys === undefined ? '' : String(rule.maxKeys),
      rule.maxBytes === undefined ? '' : String(rule.maxBytes),
    )
  }
}

const text = (value: unknown) => (Buffer.isBuffer(value) ? value.toString('utf8') : String(value))

/** Turns the script's answer for one request into a result, or throws the error it reports. */
function decode(item: Item, answer: unknown[]): Verdict {
  const status = text(answer[0])
  if (status === 'ok') {
    const results: OpResult[] = []
    for (let i = 1; i < answer.length; i += 3) {
      const result: OpResult = { existed: answer[i] === 1 }
      const version = text(answer[i + 1])
      const number = text(answer[i + 2])
      if (version !== '') result.version = version
      if (number !== '') result.number = Number(number)
      results.push(result)
    }
    return { kind: 'done', result: { ok: true, results } }
  }
  if (status === 'conflict') return { kind: 'done', result: { ok: false } }
  if (status === 'nan') throw notANumber(text(answer[1]))
  if (status === 'js') return { kind: 'js' }
  if (status === 'quota') {
    const id = text(answer[1])
    const rule = item.request.quotas.find((r) => scopeKeys('', r.scope).id === id)!
    throw new QuotaExceededError({
      scope: rule.scope,
      dimension: text(answer[2]) === 'keys' ? 'keys' : 'bytes',
      limit: Number(text(answer[3])),
      used: Number(text(answer[4])),
      requested: Number(text(answer[5])),
    })
  }
  throw new Error(`unexpected reply from the write script: ${status}`)
}
