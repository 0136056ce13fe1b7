import { expect } from 'vitest'
import { byteOrder } from './harness.js'
import { entrySize } from './sizes.js'

/** One entry of the model. `version` is undefined until the real store tells us (set, getEntry, list, atomic). */
export interface ModelEntry {
  value: unknown
  expiresAt: number | undefined
  version: string | undefined
}

/** A step of an atomic batch, as the model applies it. */
export type ModelStep =
  | { kind: 'check'; key: string; version: string | null }
  | { kind: 'set'; key: string; value: unknown; ttl?: number }
  | { kind: 'delete'; key: string }
  | { kind: 'incr'; key: string; by: number; ttl?: number }

/** What `incr` does to a value in the model: the new number, or the error code the call must fail with. */
export function modelIncr(current: unknown, by: number): number | 'INVALID_VALUE' {
  const base = current === undefined ? 0 : current
  if (typeof base !== 'number') return 'INVALID_VALUE'
  const sum = base + by
  if (!Number.isFinite(sum)) return 'INVALID_VALUE'
  if (Number.isInteger(base) && Number.isInteger(by) && !Number.isSafeInteger(sum)) return 'INVALID_VALUE'
  return sum
}

type Scope = { path: string[]; entries: Map<string, ModelEntry> }

/**
 * A deliberately simple reference store: scopes as maps, expiry checked on every read, usage computed by scanning.
 * It also remembers every version the real store reported for each key, to check that none repeats.
 */
export class ReferenceModel {
  now = 0
  private readonly scopes = new Map<string, Scope>()
  private readonly versions = new Map<string, Set<string>>()

  private scope(path: readonly string[]): Scope {
    const id = JSON.stringify(path)
    let scope = this.scopes.get(id)
    if (!scope) {
      scope = { path: [...path], entries: new Map() }
      this.scopes.set(id, scope)
    }
    return scope
  }

  /** The live entry of a key, or undefined when absent or expired. */
  live(path: readonly string[], key: string): ModelEntry | undefined {
    const entry = this.scope(path).entries.get(key)
    return entry && (entry.expiresAt === undefined || entry.expiresAt > this.now) ? entry : undefined
  }

  get(path: readonly string[], key: string): unknown {
    return this.live(path, key)?.value
  }

  has(path: readonly string[], key: string): boolean {
    return this.live(path, key) !== undefined
  }

  /** Every version the real store reported for a key so far. */
  seen(path: readonly string[], key: string): ReadonlySet<string> {
    return this.versions.get(JSON.stringify([path, key])) ?? new Set()
  }

  /**
   * Checks a version the real store just gave a key for a write: a non-empty string it never had before. Records it.
   */
  written(path: readonly string[], key: string, version: unknown): string {
    expect(typeof version, `version of ${key}`).toBe('string')
    expect(version).not.toBe('')
    expect([...this.seen(path, key)], `a new version for ${key}`).not.toContain(version)
    this.note(path, key, version as string)
    return version as string
  }

  /**
   * Checks a version read back for a live key: the one the model knows, or, when a write whose version was not
   * reported happened since (incr, update, setMany), a new one, which the model adopts.
   */
  observed(path: readonly string[], key: string, version: unknown): void {
    const entry = this.live(path, key)!
    if (entry.version !== undefined) {
      expect(version, `version of ${key}`).toBe(entry.version)
      return
    }
    entry.version = this.written(path, key, version)
  }

  private note(path: readonly string[], key: string, version: string): void {
    const id = JSON.stringify([path, key])
    const set = this.versions.get(id) ?? new Set<string>()
    set.add(version)
    this.versions.set(id, set)
  }

  set(path: readonly string[], key: string, value: unknown, ttl?: number, version?: string): void {
    const expiresAt = ttl === undefined ? undefined : this.now + ttl
    this.scope(path).entries.set(key, { value, expiresAt, version })
  }

  delete(path: readonly string[], key: string): boolean {
    const existed = this.has(path, key)
    this.scope(path).entries.delete(key)
    return existed
  }

  /** Applies `incr`; returns the new number or the error code (and then changes nothing). */
  incr(path: readonly string[], key: string, by: number, ttl?: number): number | 'INVALID_VALUE' {
    const entry = this.live(path, key)
    const result = modelIncr(entry?.value, by)
    if (result === 'INVALID_VALUE') return result
    const expiresAt = ttl === undefined ? entry?.expiresAt : this.now + ttl
    this.scope(path).entries.set(key, { value: result, expiresAt, version: undefined })
    return result
  }

  /** Applies `update`'s outcome: `next` undefined deletes; otherwise the TTL is kept unless `ttl` is given. */
  update(path: readonly string[], key: string, next: unknown, ttl?: number): void {
    const entry = this.live(path, key)
    if (next === undefined) {
      this.delete(path, key)
      return
    }
    const expiresAt = ttl === undefined ? entry?.expiresAt : this.now + ttl
    this.scope(path).entries.set(key, { value: next, expiresAt, version: undefined })
  }

  /**
   * Applies an atomic batch all or nothing. Returns `{ ok: false }` when a check fails, the error code when an op
   * cannot apply, or the keys the batch leaves stored (the ones `versions` must name).
   */
  atomic(
    path: readonly string[],
    steps: readonly ModelStep[],
  ): { ok: false } | 'INVALID_VALUE' | { ok: true; stored: string[] } {
    for (const step of steps) {
      if (step.kind === 'check' && (this.live(path, step.key)?.version ?? null) !== step.version) return { ok: false }
    }
    const scratch = new Map<string, ModelEntry | undefined>()
    const current = (key: string) => (scratch.has(key) ? scratch.get(key) : this.live(path, key))
    for (const step of steps) {
      if (step.kind === 'check') continue
      const before = current(step.key)
      if (step.kind === 'delete') scratch.set(step.key, undefined)
      else if (step.kind === 'set') {
        const expiresAt = step.ttl === undefined ? undefined : this.now + step.ttl
        scratch.set(step.key, { value: step.value, expiresAt, version: undefined })
      } else {
        const result = modelIncr(before?.value, step.by)
        if (result === 'INVALID_VALUE') return result
        const expiresAt = step.ttl === undefined ? before?.expiresAt : this.now + step.ttl
        scratch.set(step.key, { value: result, expiresAt, version: undefined })
      }
    }
    const stored: string[] = []
    for (const [key, entry] of scratch) {
      if (entry === undefined) this.scope(path).entries.delete(key)
      else {
        this.scope(path).entries.set(key, entry)
        stored.push(key)
      }
    }
    return { ok: true, stored }
  }

  /** Live keys in order (optionally with a prefix), with their entries. */
  list(path: readonly string[], reverse: boolean, prefix?: string): Array<[string, ModelEntry]> {
    const keys = [...this.scope(path).entries.keys()]
      .filter((key) => this.has(path, key) && (prefix === undefined || key.startsWith(prefix)))
      .sort(byteOrder)
    if (reverse) keys.reverse()
    return keys.map((key) => [key, this.live(path, key)!])
  }

  clear(path: readonly string[]): number {
    const count = this.list(path, false).length
    this.scope(path).entries.clear()
    return count
  }

  drop(path: readonly string[]): void {
    for (const scope of this.scopes.values()) if (isWithin(scope.path, path)) scope.entries.clear()
  }

  usage(path: readonly string[]): { keys: number; bytes: number } {
    let keys = 0
    let bytes = 0
    for (const scope of this.scopes.values()) {
      if (!isWithin(scope.path, path)) continue
      for (const [key, entry] of this.list(scope.path, false)) {
        keys++
        bytes += entrySize(key, entry.value)
      }
    }
    return { keys, bytes }
  }

  childScopes(path: readonly string[]): string[] {
    const names = new Set<string>()
    for (const scope of this.scopes.values()) {
      if (scope.path.length > path.length && isWithin(scope.path, path) && this.list(scope.path, false).length > 0) {
        names.add(scope.path[path.length]!)
      }
    }
    return [...names].sort(byteOrder)
  }
}

function isWithin(path: readonly string[], ancestor: readonly string[]): boolean {
  return path.length >= ancestor.length && ancestor.every((segment, i) => path[i] === segment)
}
