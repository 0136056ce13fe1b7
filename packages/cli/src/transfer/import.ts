import type { Readable } from 'node:stream'
import { Codec, type Cubby, CubbyError } from '@cubby/core'
import { BatchWriter } from '../batch-writer.js'
import { CliError, EXIT } from '../exit-codes.js'
import { type ExportHeader, legacyEntryScope, legacyRoot, parseLine } from '../export-format.js'
import { readLines } from './lines.js'

/** Options of `importStore`. */
export interface ImportOptions {
  /** Where to put the data: entry scopes are appended to it. @default the header's `root` */
  root?: readonly string[]
  /** Decode every value before writing it, to catch corrupt or edited lines. @default true */
  checkValues?: boolean
  /** Entries per write batch. @default 500 */
  batchSize?: number
  /** Name of the input in messages. @default 'input' */
  name?: string
  /** Called with raw input bytes consumed. @default none */
  onBytes?: (bytes: number) => void
  /** Read and check the whole input (format, keys, scopes, value sizes, values) but write nothing. @default false */
  dryRun?: boolean
  /** Aborting stops the import between lines; what was written stays. @default none */
  signal?: AbortSignal
}

/** What an import did. */
export interface ImportStats {
  /** Entries written (with `dryRun`: that would be written). */
  imported: number
  /** Entries skipped because their TTL had passed. */
  expired: number
  /** The header of the input. */
  header: ExportHeader
  /** The scope the data went to. */
  root: string[]
}

/** Cubby codes that mean a line holds bad data (rather than the backend failing). */
const DATA_CODES = new Set(['INVALID_KEY', 'INVALID_SCOPE', 'INVALID_VALUE', 'VALUE_TOO_LARGE'])

/**
 * Reads an export line by line and writes its entries, byte for byte with their expiry, in batches. Entries whose
 * `expiresAt` has passed are skipped and counted. A missing trailer or a count that disagrees with it fails with
 * exit code 4 after the entries read have been written. A malformed line fails with exit code 1, its line number,
 * and how many entries before it were written (all of them: the pending batch is written first), so what is in the
 * store is exactly the file up to that line. `dryRun` checks everything and writes nothing. A version-1 export
 * (written before the user level) has its paths mapped with `legacyToUserLayout`: its users land in user scopes.
 */
export async function importStore(cubby: Cubby, input: Readable, options: ImportOptions = {}): Promise<ImportStats> {
  const name = options.name ?? 'input'
  const codec = options.checkValues === false ? undefined : new Codec()
  const dryRun = options.dryRun === true
  const writer = new BatchWriter(cubby, { batchSize: options.batchSize, dryRun })
  let header: ExportHeader | undefined
  let root: string[] = []
  /** A version-1 export: its paths are in the layout before the user level, and are mapped. */
  let legacy = false
  let entries = 0
  let trailer: number | undefined
  let lineNo = 0
  const bad = (message: string, code = 'BAD_LINE') =>
    new CliError(EXIT.ERROR, code, `${name} line ${lineNo}: ${message}`)
  /** A bad entry line: write what came before it, then say how much that was. */
  const badEntry = async (message: string, code = 'BAD_LINE') => {
    await writer.flush()
    const { written } = writer.stats
    const done = dryRun
      ? 'nothing was written (--dry-run)'
      : written === 0
        ? 'nothing was written'
        : `the ${written} entries before it were imported; fix the line and import again (keys are overwritten)`
    return bad(`${message}; ${done}`, code)
  }

  for await (const text of readLines(input, options.onBytes)) {
    lineNo++
    options.signal?.throwIfAborted()
    if (text.trim() === '') continue
    if (trailer !== undefined) throw await badEntry('data after the end line')
    let line: ReturnType<typeof parseLine> | undefined
    let problem: string | undefined
    try {
      line = parseLine(text)
    } catch (error) {
      problem = (error as Error).message
    }
    if (header === undefined) {
      if (line?.kind !== 'header') {
        // A version mismatch is worth reporting as such; anything else simply is not an export.
        const detail = problem?.includes('format version') ? problem : 'is not a cubby export header'
        throw bad(`${detail}; was this written by \`cubby export\`?`)
      }
      header = line.header
      legacy = header.version === 1
      root = [...(options.root ?? (legacy ? legacyRoot(header.root) : header.root))]
      continue
    }
    if (line === undefined) throw await badEntry(problem!)
    if (line.kind === 'header') throw await badEntry('a second header')
    if (line.kind === 'trailer') {
      trailer = line.trailer.entries
      continue
    }
    const { entry } = line
    entries++
    try {
      codec?.decode(entry.value)
      const scope = legacy ? legacyEntryScope(header.root, entry.scope) : entry.scope
      await writer.add([...root, ...scope], entry.key, entry.value, entry.expiresAt)
    } catch (error) {
      if (!(error instanceof CubbyError) || !DATA_CODES.has(error.code)) throw error
      throw await badEntry(`${error.message}${hintFor(error, codec !== undefined)}`, error.code)
    }
  }
  await writer.flush()
  if (header === undefined) throw new CliError(EXIT.ERROR, 'BAD_INPUT', `${name} is empty; expected a cubby export`)
  const stats: ImportStats = { imported: writer.stats.written, expired: writer.stats.expired, header, root }
  const outcome = dryRun ? 'nothing was written (--dry-run)' : 'they were imported'
  if (trailer === undefined) {
    throw new CliError(
      EXIT.MISMATCH,
      'TRUNCATED',
      `${name} has no end line, so it is incomplete; it holds ${entries} entries and ${outcome}`,
    )
  }
  if (trailer !== entries) {
    throw new CliError(
      EXIT.MISMATCH,
      'COUNT_MISMATCH',
      `${name} says it holds ${trailer} entries but ${entries} were read; ${outcome}`,
    )
  }
  return stats
}

/** What to try when an entry is refused. */
function hintFor(error: CubbyError, checked: boolean): string {
  if (error.code === 'INVALID_VALUE' && checked) {
    return ' (if the data uses custom types, import with --no-check-values)'
  }
  const tooLong = (error.code === 'INVALID_KEY' || error.code === 'INVALID_SCOPE') && /bytes/.test(error.message)
  if (error.code === 'VALUE_TOO_LARGE' || tooLong) {
    return (
      " (if the store it came from raised its limits, pass the same, e.g. --option 'limits=" +
      '{"maxValueBytes":8388608,"maxKeyBytes":2048}\')'
    )
  }
  return ''
}
