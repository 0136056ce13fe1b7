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

  /** The row of an existing scope, or undefined (a read of a scope never written needs no row). */
  find(path: ScopePath): ScopeRow | undefined {
    const cached = this.byArray.get(path)
    if (cached) return cached
    const text = encodeScopePath(path)
    const known = this.byText.get(text)
    if (known) {
      this.byArray.set(path, known)
      return known
    }
    if (!this.statements.scopeId.get(text)) return undefined
    return this.ensure(path) // it exists, so this only reads
  }

  /** The row of a scope, creating it and its ancestors. Call inside a write transaction. */
  ensure(path: ScopePath): ScopeRow {
    const cached = this.byArray.get(path) ?? this.byText.get(encodeScopePath(path))
    if (cached) {
      this.byArray.set(path, cached)
      return cached
    }
    const ancestors: number[] = []
    let parent: number | null = null
    for (let depth = 0; depth <= path.length; depth++) {
      const prefix = path.slice(0, depth)
      const text = encodeScopePath(prefix)
      let row = this.byText.get(text)
      if (!row) {
        this.statements.createScope.run(text, parent, depth === 0 ? null : prefix[depth - 1]!)
        const id = this.statements.scopeId.get(text)!.id
        row = { id, ancestors: [...ancestors, id] }
        this.byText.set(text, row)
      }
      ancestors.push(row.id)
      parent = row.id
    }
    const row = this.byText.get(encodeScopePath(path))!
    this.byArray.set(path, row)
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
