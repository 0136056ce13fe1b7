import { Codec } from '@cubby/core'

const codec = new Codec()

/** What one entry counts toward usage: UTF-8 key bytes + encoded value bytes. */
export function entrySize(key: string, value: unknown): number {
  return Buffer.byteLength(key, 'utf8') + codec.encode(value).byteLength
}

/** Usage of a set of entries. */
export function usageOf(entries: Record<string, unknown>): { keys: number; bytes: number } {
  let bytes = 0
  for (const [key, value] of Object.entries(entries)) bytes += entrySize(key, value)
  return { keys: Object.keys(entries).length, bytes }
}
