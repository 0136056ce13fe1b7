import type { Usage } from '@cubby/core/backend'

/** Subtree usage of one scope, and the names of its direct children whose subtree holds data. */
export interface UsageNode {
  keys: number
  bytes: number
  readonly children: Set<string>
}

/**
 * Subtree usage per scope (keys and bytes of the scope and all descendants), kept up to date on every change so
 * `usage()` and quota checks cost O(depth). Only scopes whose subtree holds data have a node: a node is removed as
 * soon as its subtree empties, so scopes that were written and then dropped (per-user scopes on a long-running host)
 * leave nothing behind.
 */
export class UsageTree {
  private readonly nodes = new Map<string, UsageNode>()

  /** How many nodes exist (for tests: scopes whose subtree holds data). */
  get size(): number {
    return this.nodes.size
  }

  /** Subtree usage of a scope. */
  get(id: string): Usage {
    const node = this.nodes.get(id)
    return node ? { keys: node.keys, bytes: node.bytes } : { keys: 0, bytes: 0 }
  }

  /** Names of direct children holding data. */
  childNames(id: string): ReadonlySet<string> {
    return this.nodes.get(id)?.children ?? EMPTY
  }

  /**
   * Adds a change to a scope and every ancestor. `ancestors[i]` is the id of `path.slice(0, i)`, so
   * `ancestors[path.length]` is the scope itself.
   */
  apply(path: readonly string[], ancestors: readonly string[], keys: number, bytes: number): void {
    if (keys === 0 && bytes === 0) return
    let parent: UsageNode | undefined
    for (let depth = 0; depth < ancestors.length; depth++) {
      const id = ancestors[depth]!
      const node = this.node(id)
      const wasEmpty = node.keys === 0
      node.keys += keys
      node.bytes += bytes
      // A subtree that just became non-empty (or empty): its parent lists it as a child holding data (or stops).
      if (parent && wasEmpty !== (node.keys === 0)) {
        if (wasEmpty) parent.children.add(path[depth - 1]!)
        else parent.children.delete(path[depth - 1]!)
      }
      if (node.keys === 0) this.nodes.delete(id)
      parent = node
    }
  }

  /** The node of a scope id, created empty when missing. */
  private node(id: string): UsageNode {
    let node = this.nodes.get(id)
    if (!node) {
      node = { keys: 0, bytes: 0, children: new Set() }
      this.nodes.set(id, node)
    }
    return node
  }
}

const EMPTY: ReadonlySet<string> = new Set()
