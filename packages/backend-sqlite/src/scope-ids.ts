import { encodeScopePath, type ScopePath } from '@cubby/core/backend'
import type { Statements } from './statements.js'

/** A scope's row id and its ancestors' ids, root first, the scope itself last. */
export interface ScopeRow {
  id: number
  ancestors: readonly number[]
}

/** Entries per generation of a bounded cache: at most twice this many are kept. */
const GENERATION = 4096

/**
 * A map that keeps about the `GENERATION` most recently used entries: when the young generation is full it becomes
 * the old one, and the previous old one is dropped. O(1), no per-hit bookkeeping beyond one promotion.
 */
class BoundedCache<K, V> {
  private young = new Map<K, V>()
  private old = new Map<K, V>()

  get(key: K): V | undefined {
    const hit = this.young.get(key)
    if (hit !== undefined) return hit
    const aged = this.old.get(key)
    if (aged !== undefined) this.set(key, aged)
    return aged
  }

  set(key: K, value: V): void {
    if (this.young.size >= GENERATION) {
      this.old = this.young
      this.young = new Map()
    }
    this.young.set(key, value)
  }

  clear(): void {
    this.young = new Map()
    this.old = new Map()
  }
}

/**
 * Maps scope paths to row ids. Rows are never deleted, so ids stay valid across processes and can be cached; the
 * caches are bounded, so a process that touches millions of scopes does not keep them all. Core passes the same path
 * array for calls through one view, so the first cache is by identity (a WeakMap, bounded by the views alive).
 */
export class ScopeIds {
  private byArray = new WeakMap<ScopePath, ScopeRow>()
  private readonly byText = new BoundedCache<string, ScopeRow>()
  private readonly byId = new BoundedCache<number, readonly number[]>()

  constructor(private readonly statements: Statements) {}

  /** The row of an existing scope, or undefined (a read of a scope never written needs no row). Only reads. */
  find(path: ScopePath): ScopeRow | undefined {
    const known = this.byArray.get(path)
    if (known) return known
    const text = encodeScopePath(path)
    const cached = this.byText.get(text)
    if (cached) {
      this.byArray.set(path, cached)
      return cached
    }
    const ancestors: number[] = []
    for (let depth = 0; depth <= path.length; depth++) {
      const id = this.statements.scopeId.get(depth === path.length ? text : encodeScopePath(path.slice(0, depth)))
      if (id === undefined) return undefined
      ancestors.push(id)
    }
    return this.remember(path, text, ancestors)
  }

  /** The row of a scope, creating it and its ancestors. Call inside a write transaction. */
  ensure(path: ScopePath): ScopeRow {
    const existing = this.find(path)
    if (existing) return existing
    const ancestors: number[] = []
    for (let depth = 0; depth <= path.length; depth++) {
      const text = encodeScopePath(path.slice(0, depth))
      this.statements.createScope.run(text, ancestors.at(-1) ?? null, depth === 0 ? null : path[depth - 1]!)
      ancestors.push(this.statements.scopeId.get(text)!)
    }
    return this.remember(path, encodeScopePath(path), ancestors)
  }

  private remember(path: ScopePath, text: string, ancestors: number[]): ScopeRow {
    const row = { id: ancestors[ancestors.length - 1]!, ancestors }
    this.byText.set(text, row)
    this.byArray.set(path, row)
    this.byId.set(row.id, ancestors)
    return row
  }

  /** Ancestor ids of a scope row (root first, the row last), following parent links and caching them. */
  ancestorsOf(id: number): readonly number[] {
    let ancestors = this.byId.get(id)
    if (!ancestors) {
      const chain = [id]
      for (let at = this.statements.parentOf.get(id); at != null; at = this.statements.parentOf.get(at)) {
        chain.unshift(at)
      }
      ancestors = chain
      this.byId.set(id, ancestors)
    }
    return ancestors
  }

  /** Forgets everything (after a rolled-back transaction that may have created rows). */
  reset(): void {
    this.byText.clear()
    this.byId.clear()
    this.byArray = new WeakMap()
  }
}
