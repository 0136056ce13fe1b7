import { type Cubby, InvalidValueError } from '@cubby/core'
import type { WriteOp } from '@cubby/core/backend'
import { type RawScope, rawScopeAt } from '@cubby/core/raw'

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
 * Writes encoded entries to a cubby through core's raw door (`rawScopeAt`) in all-or-nothing batches, one scope per
 * batch, each entry with its own expiry. Keys, scopes and value sizes are validated by core, against the limits of
 * the opened `cubby` (`openCubby({ limits })`, `--option limits=…`), as each entry is added, so a bad entry is refused
 * before the batch it would have joined is written; values are written byte for byte. Consecutive entries of one scope share a batch, so a scope-ordered stream (an export) makes few
 * round trips.
 */
export class BatchWriter {
  readonly stats: WriteStats = { written: 0, expired: 0 }
  private path: readonly string[] | undefined
  private raw: RawScope | undefined
  private ops: (WriteOp & { type: 'set' })[] = []
  private bytes = 0
  private readonly batchSize: number
  private readonly batchBytes: number

  constructor(
    private readonly cubby: Cubby,
    private readonly options: BatchWriterOptions = {},
  ) {
    // A batch is one raw write, which core caps at limits.maxBatchSize operations.
    this.batchSize = Math.min(options.batchSize ?? 500, cubby.limits.maxBatchSize)
    this.batchBytes = options.batchBytes ?? 8 * 1024 * 1024
  }

  /** Queues one entry, writing the pending batch first when the scope changes or the batch is full. */
  async add(scope: readonly string[], key: string, value: Uint8Array, expiresAt?: number): Promise<void> {
    if (this.path === undefined || !samePath(this.path, scope)) {
      await this.flush()
      // rawScopeAt validates the segments and depth (a user's scope included).
      this.raw = rawScopeAt(this.cubby, scope)
      this.path = scope
    }
    if (value.byteLength === 0) throw new InvalidValueError(`value of key ${JSON.stringify(key)} is empty`)
    const op: WriteOp & { type: 'set' } =
      expiresAt === undefined ? { type: 'set', key, value } : { type: 'set', key, value, expiresAt }
    this.raw!.check({ ops: [op] })
    this.ops.push(op)
    this.bytes += value.byteLength
    if (this.ops.length >= this.batchSize || this.bytes >= this.batchBytes) await this.flush()
  }

  /** Writes whatever is pending. */
  async flush(): Promise<void> {
    if (this.ops.length === 0) return
    const now = this.raw!.now()
    const live = this.ops.filter((op) => op.expiresAt === undefined || op.expiresAt > now)
    const handled = this.ops.length
    this.stats.expired += handled - live.length
    this.ops = []
    this.bytes = 0
    if (live.length > 0 && this.options.dryRun) this.stats.written += live.length
    else if (live.length > 0) {
      const result = await this.raw!.write({ ops: live })
      if (!result.ok) throw new Error(`the ${this.cubby.backend.name} backend refused an unconditional batch`)
      this.stats.written += live.length
    }
    this.options.onProgress?.(handled)
  }
}

function samePath(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((segment, i) => segment === b[i])
}
