import { BatchWriter } from '../batch-writer.js'
import type { Connection } from '../connection.js'
import { entryPages, walkScopes } from '../raw.js'
import { type VerifyReport, verifyCopy } from './verify.js'

/** Options of `migrateStore`. */
export interface MigrateOptions {
  /** The scope to copy, with everything below it; the same path is used on the target. @default [] */
  root?: readonly string[]
  /** Entries per write batch. @default 500 */
  batchSize?: number
  /** Value bytes held at once while reading (see `exportStore`). @default 33554432 (32 MiB) */
  fetchBytes?: number
  /** Called with entries handled during the copy. @default none */
  onCopy?: (entries: number) => void
  /** Called with entries compared during the verification. @default none */
  onVerify?: (entries: number) => void
  /** Called between the two phases. @default none */
  onCopied?: () => void
  /** Aborting stops the copy or the verification between reads; what was written stays. @default none */
  signal?: AbortSignal
}

/** What a migration did. */
export interface MigrateReport {
  /** Entries read from the source. */
  read: number
  /** Entries written to the target. */
  written: number
  /** Entries skipped because they expired before they could be written. */
  expired: number
  /** Source scopes that held entries. */
  scopes: number
  verify: VerifyReport
}

/**
 * Copies a subtree from one store to another, the equivalent of `export | import` without the file: scopes
 * depth-first, reads bounded by bytes, values as encoded bytes with their expiry, checked against the target's
 * limits. Then compares the two, entry by entry. Versions are not copied: the target assigns its own.
 */
export async function migrateStore(
  from: Connection,
  to: Connection,
  options: MigrateOptions = {},
): Promise<MigrateReport> {
  const root = options.root ?? []
  const { signal } = options
  const writer = new BatchWriter(to.cubby, { batchSize: options.batchSize, onProgress: options.onCopy })
  let read = 0
  let scopes = 0
  const pages = { values: true, signal, fetchBytes: options.fetchBytes }
  for await (const scope of walkScopes(from.cubby, root, signal)) {
    let seen = false
    for await (const page of entryPages(from.cubby, scope, pages)) {
      seen = true
      read += page.length
      for (const row of page) await writer.add(scope, row.key, row.value!, row.expiresAt)
    }
    if (seen) scopes++
  }
  await writer.flush()
  options.onCopied?.()
  const verify = await verifyCopy(from.cubby, to.cubby, {
    root,
    fetchBytes: options.fetchBytes,
    onProgress: options.onVerify,
    signal,
  })
  return { read, written: writer.stats.written, expired: writer.stats.expired, scopes, verify }
}
