import type { Writable } from 'node:stream'
import type { Backend } from '@cubby/core/backend'
import { entryLine, headerLine, trailerLine } from '../export-format.js'
import { write } from '../io.js'
import { entryPages, walkScopes } from '../raw.js'

/** Options of `exportStore`. */
export interface ExportOptions {
  /** The scope to export, with everything below it. @default [] (the whole store) */
  root?: readonly string[]
  /** Recorded in the header (redact passwords first). */
  source?: string
  /** Called with the number of entries written after each page. */
  onProgress?: (entries: number) => void
  /** Aborting stops the export between pages (the output then has no trailer). */
  signal?: AbortSignal
}

/** What an export wrote. */
export interface ExportStats {
  entries: number
  /** Scopes that held at least one entry. */
  scopes: number
}

/**
 * Streams a scope and its descendants to `out` in the export format (see `export-format.ts`): depth-first, a page
 * at a time, waiting for `out` to drain, so memory stays constant however many keys there are.
 */
export async function exportStore(backend: Backend, out: Writable, options: ExportOptions = {}): Promise<ExportStats> {
  const root = options.root ?? []
  const stats: ExportStats = { entries: 0, scopes: 0 }
  await write(out, headerLine(root, options.source ?? backend.name))
  for await (const scope of walkScopes(backend, root, options.signal)) {
    const relative = scope.slice(root.length)
    let seen = false
    for await (const page of entryPages(backend, scope, { values: true, signal: options.signal })) {
      seen = true
      // One write per page: fewer, larger chunks keep the stream fast.
      let chunk = ''
      for (const row of page) chunk += entryLine(relative, row.key, row.value!, row.expiresAt)
      await write(out, chunk)
      stats.entries += page.length
      options.onProgress?.(page.length)
    }
    if (seen) stats.scopes++
  }
  await write(out, trailerLine(stats.entries))
  return stats
}
