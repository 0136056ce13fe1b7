import { byteOrder } from './harness.js'
import { entrySize } from './sizes.js'

interface ModelEntry {
  value: unknown
  expiresAt: number | undefined
}

/** A deliberately simple reference store: scopes as maps, expiry checked on every read, usage computed by scanning. */
export class ReferenceModel {
  now = 0
  private readonly scopes = new Map<string, { path: string[]; entries: Map<string, ModelEntry> }>()

  private scope(path: readonly string[]) {
    const id = JSON.stringify(path)
    let scope = this.scopes.get(id)
    if (!scope) {
      scope = { path: [...path], entries: new Map() }
      this.scopes.set(id, scope)
    }
    return scope
  }

  private live(path: readonly string[], key: string): ModelEntry | undefined {
    const entry = this.scope(path).entries.get(key)
    return entry && (entry.expiresAt === undefined || entry.expiresAt > this.now) ? entry : undefined
  }

  get(path: readonly string[], key: string): unknown {
    return this.live(path, key)?.value
  }

  has(path: readonly string[], key: string): boolean {
    return this.live(path, key) !== undefined
  }

  set(path: readonly string[], key: string, value: unknown, ttl?: number): void {
    this.scope(path).entries.set(key, { value, expiresAt: ttl === undefined ? undefined : this.now + ttl })
  }

  delete(path: readonly string[], key: string): boolean {
    const existed = this.has(path, key)
    this.scope(path).entries.delete(key)
    return existed
  }

  /** The new number, or undefined when the value is not a number (the call must fail). */
  incr(path: readonly string[], key: string, by: number): number | undefined {
    const entry = this.live(path, key)
    if (entry && typeof entry.value !== 'number') return undefined
    const sum = ((entry?.value as number | undefined) ?? 0) + by
    this.scope(path).entries.set(key, { value: sum, expiresAt: entry?.expiresAt })
    return sum
  }

  list(path: readonly string[], reverse: boolean, prefix?: string): Array<[string, unknown]> {
    const keys = [...this.scope(path).entries.keys()]
      .filter((key) => this.has(path, key) && (prefix === undefined || key.startsWith(prefix)))
      .sort(byteOrder)
    if (reverse) keys.reverse()
    return keys.map((key) => [key, this.get(path, key)])
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
      for (const [key, value] of this.list(scope.path, false)) {
        keys++
        bytes += entrySize(key, value)
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
