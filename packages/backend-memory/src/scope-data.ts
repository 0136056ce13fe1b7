import { encodeScopePath, type ScopePath, utf8Length } from '@cubby/core/backend'
import { SortedKeys } from './sorted-keys.js'

/** One stored entry. Records are replaced, never mutated, so a record handed out stays as it was. */
export interface Rec {
  readonly value: Uint8Array
  readonly version: string
  readonly expiresAt: number | undefined
  /** UTF-8 key bytes + value bytes: what the entry counts toward usage. */
  readonly size: number
}

/** A scope's own entries and their sorted index. */
export class ScopeData {
  readonly entries = new Map<string, Rec>()
  readonly index = new SortedKeys()
  /** Ids of `path.slice(0, i)` for i = 0..path.length (the root first, this scope last). */
  readonly ancestors: readonly string[]

  constructor(readonly path: ScopePath) {
    this.ancestors = Array.from({ length: path.length + 1 }, (_, i) => encodeScopePath(path.slice(0, i)))
  }

  get id(): string {
    return this.ancestors[this.ancestors.length - 1]!
  }

  /** The live record of `key` at `now`, or undefined. */
  live(key: string, now: number): Rec | undefined {
    return liveAt(this.entries.get(key), now)
  }
}

/** `rec` if it is live at `now` (it has no expiry, or a later one), else undefined. */
export function liveAt(rec: Rec | undefined, now: number): Rec | undefined {
  return rec && (rec.expiresAt === undefined || rec.expiresAt > now) ? rec : undefined
}

/** Builds a record, computing its size. */
export function makeRec(key: string, value: Uint8Array, version: string, expiresAt: number | undefined): Rec {
  return { value, version, expiresAt, size: utf8Length(key) + value.byteLength }
}
