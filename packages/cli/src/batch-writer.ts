import { type Cubby, InvalidKeyError, InvalidValueError, type Limits, ValueTooLargeError } from '@cubby/core'
import type { Backend, WriteOp } from '@cubby/core/backend'
import { call } from './raw.js'
import { viewAt } from './scope-view.js'

/** Options of `BatchWriter`. */
export interface BatchWriterOptions {
  /** Entries per write. @default 500 */
  batchSize?: number
  /** Value bytes per write, so batches of large values stay small. @default 8 MiB */
  batchBytes?: number
  /** Called after each batch with the number of entries it handled (written or skipped as expired). @default none */
  onProgress?: (entries: number) => void
  /** Validate every entry but write nothing (`import --dry-run`); `written` counts what would be written. @default false */
  dryRun?: boolean
}

/** What a `BatchWriter` did. */
export interface WriteStats {
  /** Entries written. */
  written: number
  /** Entries skipped because their `expiresAt` had passed by the time they would have been written. */
  expired: number
}

/**
 * Writes encoded entries to a backend in all-or-nothing batches, one scope per batch, each entry with its own
 * expiry. Keys, scopes and value sizes are validated as core would, against the limits of the opened `cubby`
 * (`openCubby({ limits })`, `--option limits=…`), since the backend contract expects valid input; values are written
 * byte for byte. Consecutive entries of one scope share a batch, so a scope-ordered stream (an export) makes few
 * round trips.
 */
export class BatchWriter {
  readonly stats: WriteStats = { written: 0, expired: 0 }
  private path: readonly string[] | undefined
  private ops: (WriteOp & { type: 'set' })[] = []
  private bytes = 0
  private readonly batchSize: number
  private readonly batchBytes: number
  private readonly limits: Readonly<Limits>

  constructor(
    private readonly cubby: Cubby,
    private readonly backend: Backend,
    private readonly options: BatchWriterOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 500
    this.batchBytes = options.batchBytes ?? 8 * 1024 * 1024
    this.limits = cubby.limits
  }

  /** Queues one entry, writing the pending batch first when the scope changes or the batch is full. */
  async add(scope: readonly string[], key: string, value: Uint8Array, expiresAt?: number): Promise<void> {
    if (this.path === undefined || !samePath(this.path, scope)) {
      await this.flush()
      // The view validates the segments and depth, and its path is frozen: the backend may cache it by identity.
      this.path = viewAt(this.cubby, scope).path
    }
    checkKey(key, this.limits.maxKeyBytes)
    if (value.byteLength === 0) throw new InvalidValueError(`value of key ${JSON.stringify(key)} is empty`)
    if (value.byteLength > this.limits.maxValueBytes) {
      throw new ValueTooLargeError(key, value.byteLength, this.limits.maxValueBytes)
    }
    this.ops.push(expiresAt === undefined ? { type: 'set', key, value } : { type: 'set', key, value, expiresAt })
    this.bytes += value.byteLength
    if (this.ops.length >= this.batchSize || this.bytes >= this.batchBytes) await this.flush()
  }

  /** Writes whatever is pending. */
  async flush(): Promise<void> {
    if (this.ops.length === 0) return
    const path = this.path!
    const now = Date.now()
    const live = this.ops.filter((op) => op.expiresAt === undefined || op.expiresAt > now)
    const handled = this.ops.length
    this.stats.expired += handled - live.length
    this.ops = []
    this.bytes = 0
    if (live.length > 0 && this.options.dryRun) this.stats.written += live.length
    else if (live.length > 0) {
      const result = await call(this.backend, () =>
        this.backend.write({ scope: path, checks: [], ops: live, quotas: [], now }),
      )
      if (!result.ok) throw new Error(`the ${this.backend.name} backend refused an unconditional batch`)
      this.stats.written += live.length
    }
    this.options.onProgress?.(handled)
  }
}

function samePath(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((segment, i) => segment === b[i])
}

/** The key rules of core (non-empty, well-formed, at most `maxKeyBytes` UTF-8 bytes). */
function checkKey(key: string, maxKeyBytes: number): void {
  const problem =
    key.length === 0
      ? 'must not be empty'
      : !key.isWellFormed()
        ? 'is not well-formed Unicode'
        : Buffer.byteLength(key, 'utf8') > maxKeyBytes
          ? `is over ${maxKeyBytes} UTF-8 bytes (limits.maxKeyBytes)`
          : undefined
  if (problem) throw new InvalidKeyError(`key ${JSON.stringify(key.slice(0, 40))} ${problem}`)
}
