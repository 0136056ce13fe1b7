import type { KVStore } from '@cubby/core'
import type { KeyvEntry, KeyvSource } from './source.js'

/** What `importKeyv` did and found. */
export interface KeyvImportReport {
  written: number
  /** Entries keyv itself would no longer return (their `expires` passed), not written. */
  expired: number
  /** Entries holding `undefined` (keyv returns nothing for them), not written. */
  empty: number
  verify: { matched: number; missing: number; different: number; expired: number; examples: string[] }
}

/** Options of `importKeyv`. */
export interface KeyvImportOptions {
  batchSize: number
  /** TTLs may differ by this much between the two sides. @default 1000 */
  toleranceMs?: number
  signal?: AbortSignal
  onCopy?: (n: number) => void
  onCopied?: () => void
  onVerify?: (n: number) => void
}

/**
 * Copies every live entry of `source` into `target` (keys as keyv's, without its namespace prefix; values as keyv
 * decodes them, so Buffers stay bytes; TTLs as the time left to keyv's `expires`), one atomic batch per
 * `batchSize` entries; then walks the source again and checks each key in the target: value deep-equal, expiry
 * within `toleranceMs`.
 */
export async function importKeyv(
  source: KeyvSource,
  target: KVStore,
  options: KeyvImportOptions,
): Promise<KeyvImportReport> {
  const report: KeyvImportReport = {
    written: 0,
    expired: 0,
    empty: 0,
    verify: { matched: 0, missing: 0, different: 0, expired: 0, examples: [] },
  }
  let batch: KeyvEntry[] = []
  const flush = async () => {
    if (batch.length === 0) return
    const now = Date.now()
    const atomic = target.atomic()
    let ops = 0
    for (const entry of batch) {
      if (entry.expiresAt === undefined) atomic.set(entry.key, entry.value)
      else if (entry.expiresAt > now) atomic.set(entry.key, entry.value, { ttl: entry.expiresAt - now })
      else {
        report.expired++
        continue
      }
      ops++
    }
    if (ops > 0) await atomic.commit()
    report.written += ops
    options.onCopy?.(batch.length)
    batch = []
  }
  for await (const entry of source.entries()) {
    options.signal?.throwIfAborted()
    if (entry.value === undefined) {
      report.empty++
      continue
    }
    batch.push(entry)
    if (batch.length >= options.batchSize) await flush()
  }
  await flush()
  report.expired += source.expired
  options.onCopied?.()
  await verify(source, target, options, report)
  return report
}

async function verify(
  source: KeyvSource,
  target: KVStore,
  options: KeyvImportOptions,
  report: KeyvImportReport,
): Promise<void> {
  const tolerance = options.toleranceMs ?? 1000
  const { verify } = report
  const note = (kind: 'missing' | 'different', key: string) => {
    verify[kind]++
    if (verify.examples.length < 10) verify.examples.push(`${kind} ${JSON.stringify(key)}`)
  }
  let pending: Array<Promise<void>> = []
  const check = async (entry: KeyvEntry) => {
    const stored = await target.getEntry(entry.key)
    if (!stored) {
      if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now() + tolerance) verify.expired++
      else note('missing', entry.key)
      return
    }
    const expiryOk =
      entry.expiresAt === undefined
        ? stored.expiresAt === undefined
        : stored.expiresAt !== undefined && Math.abs(stored.expiresAt - entry.expiresAt) <= tolerance
    if (expiryOk && same(entry.value, stored.value)) verify.matched++
    else note('different', entry.key)
  }
  for await (const entry of source.entries()) {
    options.signal?.throwIfAborted()
    if (entry.value === undefined) continue
    pending.push(check(entry))
    if (pending.length >= 64) {
      await Promise.all(pending)
      options.onVerify?.(pending.length)
      pending = []
    }
  }
  await Promise.all(pending)
  options.onVerify?.(pending.length)
}

/** Deep equality of decoded values, where a Buffer equals a Uint8Array of the same bytes. */
export function same(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true
  if (ArrayBuffer.isView(a) && ArrayBuffer.isView(b)) {
    return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const ka = Object.keys(a)
  const kb = Object.keys(b)
  if (ka.length !== kb.length) return false
  return ka.every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
}
