import type {
  ListQuery,
  QuotaRule,
  ScopePath,
  StoredEntry,
  Usage,
  WriteCheck,
  WriteOp,
  WriteResult,
} from '../backend/contract.js'
import { describe } from '../describe.js'
import {
  CubbyError,
  InvalidConfigError,
  InvalidScopeError,
  InvalidValueError,
  UnsupportedError,
  ValueTooLargeError,
} from '../errors.js'
import { isValidKey } from '../keys.js'
import { checkInteger } from '../limits.js'
import { MAX_EXPIRES_AT, type ScopeContext } from '../store/context.js'
import { checkBound } from '../store/listing.js'

/** A batch for `RawScope.write`: the backend's `WriteRequest` without what the cubby supplies (scope, quotas, now). */
export interface RawWrite {
  /** Preconditions, checked before any op. @default [] */
  checks?: readonly WriteCheck[]
  /** The operations, applied in order, all or nothing. Set values are encoded bytes, stored as they are. */
  ops: readonly WriteOp[]
  /**
   * Caps to enforce on top of the cubby's own quotas (which always apply), e.g. those a trusted remote client
   * configured. Each rule's scope must be this scope or one of its ancestors. @default []
   */
  quotas?: readonly QuotaRule[]
}

/** A range for `RawScope.list`: the backend's `ListQuery` without `now` (the cubby's clock supplies it). */
export type RawListQuery = Omit<ListQuery, 'now'>

/** Options of `rawScope`. */
export interface RawScopeOptions {
  /**
   * Decode every value a write carries with this cubby's codec before it is stored, and refuse bytes it cannot read
   * (`InvalidValueError`), so data from an untrusted source never reaches readers as garbage. Tools that copy bytes
   * between stores (export, import, migrate) leave it off so values of custom types they cannot decode still pass.
   * @default false
   */
  verifyValues?: boolean
}

/**
 * Byte-level access to one scope of an open cubby, for tools that move encoded values (the CLI's export, import and
 * migrate; the remote server): the backend's own calls, taken through the cubby's engine, so a closed cubby refuses
 * them, calls are bounded by its `timeoutMs`, errors are `CubbyError`s, and its limits, quotas and clock apply.
 * Every argument is validated as strictly as the `KVStore` API validates its own: nothing malformed reaches the
 * backend. Get one with `rawScope(view)` or `rawScopeAt(cubby, path)` from `@cubby/core/raw`.
 */
export class RawScope {
  /** @internal */
  constructor(
    private readonly ctx: ScopeContext,
    private readonly options: RawScopeOptions = {},
  ) {}

  /** The scope's storage path (a user's scope has `''` at index 2). */
  get path(): ScopePath {
    return this.ctx.path
  }

  /** The cubby's clock, in epoch milliseconds: the time reads judge expiry by and writes are stamped with. */
  now(): number {
    return this.ctx.engine.clock()
  }

  /** Stored entries of `keys` (1 to `limits.maxBatchSize`, repeats allowed), in order; undefined where absent. */
  get(keys: readonly string[], options: { values?: boolean } = {}): Promise<(StoredEntry | undefined)[]> {
    return this.guard(() => {
      const valid = this.keys('get.keys', keys)
      const values = options.values !== false
      return { run: (now) => this.ctx.engine.backend.get(this.ctx.path, valid, { values, now }) }
    })
  }

  /** Applies a batch with the cubby's quotas and clock: `{ ok: false }` when a check failed. */
  write(request: RawWrite): Promise<WriteResult> {
    return this.guard(() => {
      const { checks, ops } = this.validate(request)
      const quotas =
        request.quotas === undefined || request.quotas.length === 0
          ? this.ctx.quotaRules
          : [...this.ctx.quotaRules, ...this.extraQuotas(request.quotas)]
      return {
        run: (now) => this.ctx.engine.backend.write({ scope: this.ctx.path, checks, ops, quotas, now }),
      }
    })
  }

  /** One page of live entries in range, as the backend returns it (`limit` up to `limits.maxPageSize + 1`). */
  list(query: RawListQuery): Promise<StoredEntry[]> {
    return this.guard(() => {
      const valid = this.listQuery(query)
      return { run: (now) => this.ctx.engine.backend.list(this.ctx.path, { ...valid, now }) }
    })
  }

  /**
   * Names of direct children holding data, strictly after `after`, as the backend returns them: unlike
   * `KVStore.scopes()`, a plugin scope's page may start with `''`, the user level (its children are the users).
   */
  scopes(options: { after?: string; limit: number }): Promise<string[]> {
    return this.guard(() => {
      const limit = checkInteger('scopes.limit', options.limit, 1, this.ctx.engine.limits.maxPageSize + 2)
      const after = options.after === undefined ? undefined : this.key('scopes.after', options.after, true)
      return {
        run: (now) =>
          this.ctx.engine.backend.scopes(this.ctx.path, after === undefined ? { limit, now } : { after, limit, now }),
      }
    })
  }

  /** Live keys and bytes of the scope and its descendants. */
  usage(): Promise<Usage> {
    return this.guard(() => {
      if (!this.ctx.engine.backend.capabilities.quotas) {
        throw new UnsupportedError(`the ${this.ctx.engine.backend.name} backend does not track usage`)
      }
      return { run: (now) => this.ctx.engine.backend.usage(this.ctx.path, now) }
    })
  }

  /**
   * Throws what `write(request)` would reject with for malformed input (a bad key, a value over
   * `limits.maxValueBytes`, a bad expiry, …) without writing anything: for tools that check data before writing it
   * (`cubby import --dry-run`).
   */
  check(request: RawWrite): void {
    this.validate(request)
  }

  private validate(request: RawWrite): { checks: WriteCheck[]; ops: WriteOp[] } {
    if (this.ctx.path.length === 3 && this.ctx.path[2] === '') {
      throw new InvalidScopeError('the user level [workspace, plugin, ""] holds no keys; write to a user’s scope')
    }
    const checks = this.checks(request?.checks ?? [])
    const ops = this.ops(request?.ops)
    if (ops.length === 0 && checks.length === 0) throw new InvalidConfigError('write.ops', 'must not be empty')
    return { checks, ops }
  }

  /** Validates synchronously, then runs the backend call through the engine; every failure is a rejection. */
  private guard<T>(prepare: () => { run: (now: number) => Promise<T> }): Promise<T> {
    let run: (now: number) => Promise<T>
    try {
      this.ctx.engine.assertOpen()
      run = prepare().run
    } catch (error) {
      return Promise.reject(error)
    }
    const now = this.ctx.engine.clock()
    return this.ctx.engine.call(() => run(now))
  }

  private key(field: string, key: unknown, emptyAllowed = false): string {
    if (emptyAllowed && key === '') return key
    if (!isValidKey(key, this.ctx.engine.limits.maxKeyBytes)) {
      throw new InvalidConfigError(
        field,
        `must be a valid key (non-empty, well-formed, within limits.maxKeyBytes); got ${describe(key)}`,
      )
    }
    return key
  }

  private keys(field: string, keys: unknown): string[] {
    if (!Array.isArray(keys) || keys.length === 0) throw new InvalidConfigError(field, 'must be a non-empty array')
    this.batchSize(field, keys.length)
    return keys.map((key) => this.ctx.key(key))
  }

  private batchSize(field: string, size: number): void {
    if (size > this.ctx.engine.limits.maxBatchSize) this.ctx.tooMany(field, String(size))
  }

  private checks(checks: readonly WriteCheck[]): WriteCheck[] {
    if (!Array.isArray(checks)) throw new InvalidConfigError('write.checks', 'must be an array')
    this.batchSize('write.checks', checks.length)
    return checks.map((check, i) => ({
      key: this.ctx.key(check?.key),
      version: this.ctx.version(`write.checks[${i}].version`, check?.version),
    }))
  }

  private ops(ops: readonly WriteOp[]): WriteOp[] {
    if (!Array.isArray(ops)) throw new InvalidConfigError('write.ops', 'must be an array')
    this.batchSize('write.ops', ops.length)
    return ops.map((op, i) => this.op(`write.ops[${i}]`, op))
  }

  private op(field: string, op: WriteOp): WriteOp {
    const type = op?.type
    const key = this.ctx.key(op?.key)
    if (type === 'delete') return { type, key }
    const expiresAt = this.expiresAt(`${field}.expiresAt`, (op as { expiresAt?: unknown }).expiresAt)
    if (type === 'set') {
      const value = (op as { value?: unknown }).value
      if (!(value instanceof Uint8Array)) throw new InvalidConfigError(`${field}.value`, 'must be a Uint8Array')
      const limit = this.ctx.engine.limits.maxValueBytes
      if (value.byteLength > limit) throw new ValueTooLargeError(key, value.byteLength, limit)
      if (this.options.verifyValues) this.verify(key, value)
      return expiresAt === undefined ? { type, key, value } : { type, key, value, expiresAt }
    }
    if (type === 'incr') {
      const by = (op as { by?: unknown }).by
      if (typeof by !== 'number' || !Number.isFinite(by)) {
        throw new InvalidConfigError(`${field}.by`, `must be a finite number, got ${describe(by)}`)
      }
      return expiresAt === undefined ? { type, key, by } : { type, key, by, expiresAt }
    }
    throw new InvalidConfigError(`${field}.type`, `must be 'set', 'delete' or 'incr', got ${describe(type)}`)
  }

  /** Validates extra quota rules: each on this scope or an ancestor, with integer limits. */
  private extraQuotas(rules: readonly QuotaRule[]): QuotaRule[] {
    if (!Array.isArray(rules)) throw new InvalidConfigError('write.quotas', 'must be an array')
    const path = this.ctx.path
    return rules.map((rule, i) => {
      const field = `write.quotas[${i}]`
      const scope = rule?.scope
      if (!Array.isArray(scope) || scope.length > path.length || scope.some((segment, at) => segment !== path[at])) {
        throw new InvalidConfigError(`${field}.scope`, 'must be the written scope or one of its ancestors')
      }
      const valid: QuotaRule = { scope: Object.freeze([...scope]) }
      if (rule.maxKeys !== undefined) valid.maxKeys = checkInteger(`${field}.maxKeys`, rule.maxKeys, 0)
      if (rule.maxBytes !== undefined) valid.maxBytes = checkInteger(`${field}.maxBytes`, rule.maxBytes, 0)
      return valid
    })
  }

  /** Decodes `value` with the cubby's codec, so bytes no reader could decode are refused before they are stored. */
  private verify(key: string, value: Uint8Array): void {
    try {
      this.ctx.engine.codec.decode(value)
    } catch (error) {
      if (error instanceof CubbyError) throw error
      throw new InvalidValueError(`the value for key ${JSON.stringify(key)} is not a value this cubby can decode`, {
        cause: error,
      })
    }
  }

  private expiresAt(field: string, value: unknown): number | undefined {
    if (value === undefined) return undefined
    if (!this.ctx.engine.backend.capabilities.ttl) {
      throw new UnsupportedError(`the ${this.ctx.engine.backend.name} backend does not support TTL (${field})`)
    }
    return checkInteger(field, value, 1, MAX_EXPIRES_AT)
  }

  private listQuery(query: RawListQuery): RawListQuery {
    if (typeof query !== 'object' || query === null) throw new InvalidConfigError('list.query', 'must be an object')
    const limit = checkInteger('list.limit', query.limit, 1, this.ctx.engine.limits.maxPageSize + 1)
    const valid: RawListQuery = { reverse: query.reverse === true, limit, values: query.values !== false }
    for (const bound of ['prefix', 'start', 'end'] as const) {
      const value = checkBound(this.ctx, `list.${bound}`, query[bound])
      if (value !== undefined) valid[bound] = value
    }
    if (query.after !== undefined) valid.after = this.key('list.after', query.after)
    if (query.maxBytes !== undefined) {
      if (!valid.values) throw new InvalidConfigError('list.maxBytes', 'needs values')
      valid.maxBytes = checkInteger('list.maxBytes', query.maxBytes, 1)
    }
    return valid
  }
}
