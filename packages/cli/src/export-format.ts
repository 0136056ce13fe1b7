import { legacyToUserLayout } from '@cubby/core/backend'

/**
 * The export format: JSON Lines (UTF-8, one JSON object per line).
 *
 * 1. A header: `{"cubby":"export","version":1,"root":[...],"source":"sqlite:…","createdAt":"…","value":"base64"}`.
 *    `root` is the scope that was exported; entry scopes are relative to it.
 * 2. One line per entry: `{"scope":["user","alice"],"key":"k","value":"<base64>","expiresAt":1767225600000}`.
 *    `value` is the base64 of the entry's encoded bytes exactly as Cubby stores them (its codec's format), so every
 *    type round-trips exactly, custom types included. `expiresAt` (epoch ms) is absent for entries without a TTL.
 * 3. A trailer: `{"cubby":"end","entries":N}`. Import checks it, so a truncated file is detected.
 *
 * Version 2 (this CLI writes it) stores paths in the user-level layout: a user's scope is `[workspace, plugin, '',
 * user]`, so in `root` followed by an entry's `scope` an empty segment can stand only at index 2, and it always
 * means the user level (a plugin's sub-scope is never empty). Version 1, written before the user level, had users at
 * `[workspace, plugin, user]`, the same path as the plugin's sub-scope of that name; import reads it by mapping
 * every path with `legacyToUserLayout` (see `legacyEntryScope`), the rule every backend's migration follows.
 */

/** The format version this CLI writes. */
export const EXPORT_VERSION = 2

/** The versions it reads: 1 (paths in the layout before the user level) and 2. */
export const READABLE_VERSIONS: readonly number[] = [1, 2]

/** The first line of an export. */
export interface ExportHeader {
  cubby: 'export'
  version: number
  /** The exported scope; entry scopes are relative to it. */
  root: string[]
  /** Where it came from (password redacted). */
  source?: string
  /** ISO time the export started. */
  createdAt?: string
  /** How `value` is encoded. Always `base64`. */
  value: 'base64'
}

/** One exported entry, decoded. */
export interface ExportEntry {
  /** Scope path relative to the export root. */
  scope: string[]
  key: string
  /** Encoded value bytes, as stored. */
  value: Uint8Array
  /** Absolute expiry in epoch ms, when the entry has a TTL. */
  expiresAt?: number
}

/** The last line of a complete export. */
export interface ExportTrailer {
  cubby: 'end'
  entries: number
}

/** A line of an export, parsed. */
export type ExportLine =
  | { kind: 'header'; header: ExportHeader }
  | { kind: 'entry'; entry: ExportEntry }
  | { kind: 'trailer'; trailer: ExportTrailer }

/** The header line, with its newline. */
export function headerLine(root: readonly string[], source: string): string {
  const header: ExportHeader = {
    cubby: 'export',
    version: EXPORT_VERSION,
    root: [...root],
    source,
    createdAt: new Date().toISOString(),
    value: 'base64',
  }
  return `${JSON.stringify(header)}\n`
}

/** An entry line, with its newline. */
export function entryLine(scope: readonly string[], key: string, value: Uint8Array, expiresAt?: number): string {
  const base64 = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64')
  const tail = expiresAt === undefined ? '' : `,"expiresAt":${expiresAt}`
  return `{"scope":${JSON.stringify(scope)},"key":${JSON.stringify(key)},"value":"${base64}"${tail}}\n`
}

/** The trailer line, with its newline. */
export function trailerLine(entries: number): string {
  return `${JSON.stringify({ cubby: 'end', entries } satisfies ExportTrailer)}\n`
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

/** Parses one line (without its newline); throws an `Error` saying what is wrong. */
export function parseLine(text: string): ExportLine {
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch {
    throw new Error('is not JSON')
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new Error('is not a JSON object')
  const record = data as Record<string, unknown>
  if (record.cubby === 'export') return { kind: 'header', header: parseHeader(record) }
  if (record.cubby === 'end') {
    if (!Number.isSafeInteger(record.entries) || (record.entries as number) < 0) {
      throw new Error('is an end line without a valid "entries" count')
    }
    return { kind: 'trailer', trailer: { cubby: 'end', entries: record.entries as number } }
  }
  return { kind: 'entry', entry: parseEntry(record) }
}

function parseHeader(record: Record<string, unknown>): ExportHeader {
  if (!READABLE_VERSIONS.includes(record.version as number)) {
    throw new Error(
      `is an export of format version ${String(record.version)}; this cubby reads versions ${READABLE_VERSIONS.join(' and ')} (a newer cubby wrote it: upgrade @cubby/cli)`,
    )
  }
  if (record.value !== 'base64') throw new Error('is a header with an unknown value encoding')
  return { ...(record as unknown as ExportHeader), root: stringArray(record.root, 'root') }
}

function parseEntry(record: Record<string, unknown>): ExportEntry {
  const scope = stringArray(record.scope, 'scope')
  if (typeof record.key !== 'string') throw new Error('has no string "key"')
  if (typeof record.value !== 'string' || !BASE64.test(record.value) || record.value.length % 4 !== 0) {
    throw new Error('has no base64 "value"')
  }
  const entry: ExportEntry = { scope, key: record.key, value: Buffer.from(record.value, 'base64') }
  if (record.expiresAt !== undefined) {
    if (!Number.isSafeInteger(record.expiresAt) || (record.expiresAt as number) <= 0) {
      throw new Error('has an "expiresAt" that is not a positive integer of epoch milliseconds')
    }
    entry.expiresAt = record.expiresAt as number
  }
  return entry
}

function stringArray(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new Error(`has a "${field}" that is not an array of strings`)
  }
  return value as string[]
}

/**
 * Where an entry of a version-1 export goes, in the user-level layout: its old absolute path `root ++ scope` mapped
 * by `legacyToUserLayout`, relative to the mapped root (always a prefix of it). With `legacyRoot` it gives the
 * mapped root itself: `legacyEntryScope(root, [])` relative to `[]`.
 */
export function legacyEntryScope(root: readonly string[], scope: readonly string[]): string[] {
  const mappedRoot = legacyToUserLayout(root)
  return legacyToUserLayout([...root, ...scope]).slice(mappedRoot.length)
}

/** The root of a version-1 export in the user-level layout (a root of 3+ segments names a user or lies in one). */
export function legacyRoot(root: readonly string[]): string[] {
  return legacyToUserLayout(root)
}
