import type { Writable } from 'node:stream'
import type { Cubby } from '@cubby/core'
import { entryLine, headerLine, trailerLine } from '../export-format.js'
import { write } from '../io.js'
import { entryPages, walkScopes } from '../raw.js'

/** Small entry lines are joined into writes of about this many characters; larger lines are written alone. */
const WRITE_CHUNK = 64 * 1024

/** Options of `exportStore`. */
export interface ExportOptions {
  /** The scope to export, with everything below it. @default [] (the whole store) */
  root?: readonly string[]
  /** Recorded in the header (redact passwords first). @default the cubby's backend name */
  source?: string
  /** Value bytes held in memory at most, per read. @default 33554432 (32 MiB) */
  fetchBytes?: number
  /** Called with the number of entries written after each read. @default none */
  onProgress?: (entries: number) => void
  /** Aborting stops the export between writes (the output then has no trailer). @default none */
  signal?: AbortSignal
}

/** What an export wrote. */
export interface ExportStats {
  /** Entries written (the trailer's count). */
  entries: number
  /** Scopes that held at least one entry. */
  scopes: number
}

/**
 * Streams a scope and its descendants to `out` in the export format (see `export-format.ts`): depth-first, reads
 * bounded by bytes (see `entryPages`), and each write waits for `out` to drain when its buffer is full, so memory
 * stays bounded however many keys there are and whatever their sizes: less than `fetchBytes` of values plus one value, plus one
 * entry line (a value's base64), plus the stream's own buffer.
 */
export async function exportStore(cubby: Cubby, out: Writable, options: ExportOptions = {}): Promise<ExportStats> {
  const root = options.root ?? []
  const stats: ExportStats = { entries: 0, scopes: 0 }
  const pageOptions = {
    values: true,
    signal: options.signal,
    fetchBytes: options.fetchBytes,
  }
  await write(out, headerLine(root, options.source ?? cubby.backend.name), options.signal)
  for await (const scope of walkScopes(cubby, root, options.signal)) {
    const relative = scope.slice(root.length)
    let seen = false
    for await (const page of entryPages(cubby, scope, pageOptions)) {
      seen = true
      let chunk = ''
      for (const row of page) {
        const line = entryLine(relative, row.key, row.value!, row.expiresAt)
        if (chunk.length + line.length > WRITE_CHUNK && chunk !== '') {
          await write(out, chunk, options.signal)
          chunk = ''
        }
        if (line.length >= WRITE_CHUNK) await write(out, line, options.signal)
        else chunk += line
      }
      if (chunk !== '') await write(out, chunk, options.signal)
      stats.entries += page.length
      options.onProgress?.(page.length)
    }
    if (seen) stats.scopes++
  }
  await write(out, trailerLine(stats.entries), options.signal)
  return stats
}
