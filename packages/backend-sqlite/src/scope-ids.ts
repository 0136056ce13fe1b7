import { encodeScopePath, type ScopePath } from '@cubby/core/backend'
import type { Statements } from './statements.js'

/** A scope's row id and its ancestors' ids, root first, the scope itself last. */
export interface ScopeRow {
  id: number
  ancestors: readonly number[]
}

/**
 * Maps scope paths to row ids. Rows are never deleted, so ids stay valid across processes and can be cached for
 * good; core passes the same path array for calls through one view, so the first cache is by identity.
 */
export class ScopeIds {
  private byArray = new WeakMap<ScopePath, ScopeRow>()
  private readonly byText = new Map<string, ScopeRow>()
  private readonly byId = new Map<number, readonly number[]>()

  constructor(private readonly statements: Statements) {}

  /** The row of an existing scope, or undefined (a read of a scope never written needs no row). Only reads. */
  find(path: ScopePath): ScopeRow | undefined {
    const cached = this.byArray.get(path) ?? this.byText.get(encodeScopePath(path))
    if (cached) {
      this.byArray.set(path, cached)
      return cached
    }
    const ancestors: number[] = []
    for (let depth = 0; depth <= path.length; depth++) {
      const found = this.statements.scopeId.get(encodeScopePath(path.slice(0, depth)))
      if (!found) return undefined
      ancestors.push(found.id)
    }
    return this.remember(path, ancestors)
  }

  /** The row of a scope, creating it and its ancestors. Call inside a write transaction. */
  ensure(path: ScopePath): ScopeRow {
    const existing = this.find(path)
    if (existing) return existing
    const ancestors: number[] = []
    for (let depth = 0; depth <= path.length; depth++) {
      const text = encodeScopePath(path.slice(0, depth))
      this.statements.createScope.run(text, ancestors.at(-1) ?? null, depth === 0 ? null : path[depth - 1]!)
      ancestors.push(this.statements.scopeId.get(text)!.id)
    }
    return this.remember(path, ancestors)
  }

  private remember(path: ScopePath, ancestors: number[]): ScopeRow {
    const row = { id: ancestors[ancestors.length - 1]!, ancestors }
    this.byText.set(encodeScopePath(path), row)
    this.byArray.set(path, row)
    this.byId.set(row.id, ancestors)
    return row
  }

  /** Ancestor ids of a scope row (root first, the row last), following parent links once and caching them. */
  ancestorsOf(id: number): readonly number[] {
    let ancestors = this.byId.get(id)
    if (!ancestors) {
      const chain = [id]
      for (
        let at = this.statements.parentOf.get(id)?.parent;
        at != null;
        at = this.statements.parentOf.get(at)?.parent
      ) {
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
