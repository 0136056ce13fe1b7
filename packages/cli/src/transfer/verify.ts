import { type Cubby, compareKeys } from '@cubby/core'
import type { StoredEntry } from '@cubby/core/backend'
import { DEFAULT_FETCH_BYTES, entryPages, walkScopes } from '../raw.js'

/** A difference found by `verifyCopy`. */
export interface Difference {
  scope: string[]
  key: string
  /** `missing`: in the source, not the target; `extra`: only in the target; `different`: bytes or expiry differ. */
  kind: 'missing' | 'extra' | 'different'
}

/** What `verifyCopy` found. */
export interface VerifyReport {
  /** Source entries found identical (bytes and expiry) in the target. */
  matched: number
  /** Source scopes holding entries (counted as the copy counts them; empty scopes are compared but not counted). */
  scopes: number
  missing: number
  different: number
  /** Target keys the source lacks, in the scopes compared. */
  extra: number
  /** Entries that expired while being compared (on either side): neither a match nor a mismatch. */
  expired: number
  /** The first few differences, for the report. */
  examples: Difference[]
}

/** Options of `verifyCopy`. */
export interface VerifyOptions {
  /** The scope compared, with everything below it. @default [] (the whole store) */
  root?: readonly string[]
  /** Value bytes held at once, split between the two sides. @default 33554432 (32 MiB) */
  fetchBytes?: number
  /** Called with the number of source entries compared after each step. @default none */
  onProgress?: (entries: number) => void
  /** Aborting stops the comparison between reads. @default none */
  signal?: AbortSignal
  /** How many differences to keep as examples. @default 10 */
  maxExamples?: number
}

/**
 * Compares every scope at or below `root` in `source` with the same scope in `target`, key by key: both sides are
 * read in key order a page at a time and merged, so memory stays bounded (each side holds at most half of
 * `fetchBytes` of values). An entry counts as matching when its
 * encoded bytes and `expiresAt` are equal; one whose TTL passes during the comparison is counted as expired.
 */
export async function verifyCopy(source: Cubby, target: Cubby, options: VerifyOptions = {}): Promise<VerifyReport> {
  const report: VerifyReport = { matched: 0, scopes: 0, missing: 0, different: 0, extra: 0, expired: 0, examples: [] }
  const maxExamples = options.maxExamples ?? 10
  const note = (scope: string[], key: string, kind: Difference['kind']) => {
    report[kind]++
    if (report.examples.length < maxExamples) report.examples.push({ scope, key, kind })
  }
  const gone = (entry: StoredEntry) => entry.expiresAt !== undefined && entry.expiresAt <= Date.now()
  const pages = {
    values: true,
    signal: options.signal,
    fetchBytes: (options.fetchBytes ?? DEFAULT_FETCH_BYTES) / 2,
  }
  for await (const scope of walkScopes(source, options.root ?? [], options.signal)) {
    const left = flatten(entryPages(source, scope, pages))
    const right = flatten(entryPages(target, scope, pages))
    let a = await left.next()
    let b = await right.next()
    if (!a.done) report.scopes++
    while (!a.done || !b.done) {
      const order = a.done ? 1 : b.done ? -1 : compareKeys(a.value.key, b.value.key)
      if (order < 0 && !a.done) {
        if (gone(a.value)) report.expired++
        else note(scope, a.value.key, 'missing')
        options.onProgress?.(1)
        a = await left.next()
      } else if (order > 0 && !b.done) {
        if (gone(b.value)) report.expired++
        else note(scope, b.value.key, 'extra')
        b = await right.next()
      } else if (!a.done && !b.done) {
        if (same(a.value, b.value)) report.matched++
        else if (gone(a.value) || gone(b.value)) report.expired++
        else note(scope, a.value.key, 'different')
        options.onProgress?.(1)
        a = await left.next()
        b = await right.next()
      }
    }
  }
  return report
}

function same(a: StoredEntry, b: StoredEntry): boolean {
  return a.expiresAt === b.expiresAt && view(a.value!).equals(view(b.value!))
}

/** A Buffer over the same memory (no copy). */
function view(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

async function* flatten(pages: AsyncIterable<StoredEntry[]>): AsyncGenerator<StoredEntry> {
  for await (const page of pages) yield* page
}
