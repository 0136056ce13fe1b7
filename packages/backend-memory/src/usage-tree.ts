import type { Usage } from '@cubby/core/backend'

/** Subtree usage of one scope, and the names of its direct children whose subtree holds data. */
export interface UsageNode {
  keys: number
  bytes: number
  readonly children: Set<string>
}

/**
 * Subtree usage per scope (keys and bytes of the scope and all descendants), kept up to date on every change so
 * `usage()` and quota checks cost O(depth). Nodes are never removed, so a scope can hold on to its ancestors' nodes
 * and update them without lookups.
 */
export class UsageTree {
  private readonly nodes = new Map<string, UsageNode>()

  /** The node of a scope id, created empty on first use. */
  node(id: string): UsageNode {
    let node = this.nodes.get(id)
    if (!node) {
      node = { keys: 0, bytes: 0, children: new Set() }
      this.nodes.set(id, node)
    }
    return node
  }

  /** Subtree usage of a scope. */
  get(id: string): Usage {
    const node = this.nodes.get(id)
    return node ? { keys: node.keys, bytes: node.bytes } : { keys: 0, bytes: 0 }
  }

  /** Names of direct children holding data. */
  childNames(id: string): ReadonlySet<string> {
    return this.nodes.get(id)?.children ?? new Set()
  }

  /**
   * Adds a change to every ancestor of a scope. `nodes[i]` is the node of `path.slice(0, i)`, so
   * `nodes[path.length]` is the scope itself.
   */
  static apply(path: readonly string[], nodes: readonly UsageNode[], keys: number, bytes: number): void {
    for (let depth = 0; depth < nodes.length; depth++) {
      const node = nodes[depth]!
      const wasEmpty = node.keys === 0
      node.keys += keys
      node.bytes += bytes
      if (depth === 0 || wasEmpty === (node.keys === 0)) continue
      // This subtree just became non-empty (or empty): its parent lists it as a child holding data (or stops).
      if (wasEmpty) nodes[depth - 1]!.children.add(path[depth - 1]!)
      else nodes[depth - 1]!.children.delete(path[depth - 1]!)
    }
  }
}
