import type { Usage } from '@cubby/core/backend'

/**
 * Subtree usage per scope (keys and bytes of the scope and all descendants), and for each scope the names of its
 * direct children whose subtree holds data. Updated on every change, so `usage()` and quota checks cost O(depth).
 */
export class UsageTree {
  private readonly totals = new Map<string, Usage>()
  private readonly children = new Map<string, Set<string>>()

  /** Subtree usage of a scope. */
  get(id: string): Usage {
    const usage = this.totals.get(id)
    return usage ? { keys: usage.keys, bytes: usage.bytes } : { keys: 0, bytes: 0 }
  }

  /** Names of direct children holding data. */
  childNames(id: string): ReadonlySet<string> {
    return this.children.get(id) ?? new Set()
  }

  /**
   * Adds a change to every ancestor of a scope. `ancestors[i]` is the id of `path.slice(0, i)`, so
   * `ancestors[path.length]` is the scope itself.
   */
  apply(path: readonly string[], ancestors: readonly string[], keys: number, bytes: number): void {
    if (keys === 0 && bytes === 0) return
    for (let depth = 0; depth < ancestors.length; depth++) {
      const id = ancestors[depth]!
      const usage = this.totals.get(id) ?? { keys: 0, bytes: 0 }
      const wasEmpty = usage.keys === 0
      usage.keys += keys
      usage.bytes += bytes
      if (usage.keys === 0) this.totals.delete(id)
      else this.totals.set(id, usage)
      if (depth === 0) continue
      const parent = ancestors[depth - 1]!
      const name = path[depth - 1]!
      if (wasEmpty && usage.keys > 0) {
        const names = this.children.get(parent) ?? new Set<string>()
        this.children.set(parent, names)
        names.add(name)
      } else if (!wasEmpty && usage.keys === 0) {
        const names = this.children.get(parent)
        names?.delete(name)
        if (names?.size === 0) this.children.delete(parent)
      }
    }
  }
}
