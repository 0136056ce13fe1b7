import type { ScopePath } from '@cubby/core/backend'
import type { Connection } from './connection.js'
import { childrenKey, GROUP_DEPTH, markerKey, scopeKeys, usageKey } from './keys.js'
import type { Scripts } from './scripts.js'

/**
 * Cluster only: the child indexes above the group depth. A workspace's plugins (and the root's workspaces) live in
 * other slots than their parent, so no script can keep the parent's child index exact. Instead:
 * - A group holds a marker `G r` while it is listed in its ancestors' child indexes. The write script refuses a
 *   call into a group without one; the writer then lists the group (`register`), sends the call again with leave
 *   to set the marker, and lists it once more afterwards. So a group holding data is always listed, even after a
 *   restart or a flush that lost the parent's index — there is no per-process cache to go stale.
 * - Walks (usage, scopes, drop) remove a child they find empty (`prune`): the marker is deleted first (atomically
 *   with the emptiness check), then the name; a writer that registered meanwhile is re-listed.
 * Registration always lists the whole chain of ancestors, so concurrent prunes of a plugin and its workspace cannot
 * leave a listed plugin under an unlisted workspace.
 */
export class Registry {
  constructor(
    private readonly connection: Connection,
    private readonly scripts: Scripts,
    private readonly prefix: string,
  ) {}

  /** Lists the group of `path` (its first GROUP_DEPTH segments) and its ancestors in their parents' child indexes. */
  async register(path: ScopePath): Promise<void> {
    const depth = Math.min(path.length, GROUP_DEPTH)
    const adds: Promise<unknown>[] = []
    for (let k = 1; k <= depth; k++) {
      const key = childrenKey(scopeKeys(this.prefix, path.slice(0, k - 1)))
      adds.push(this.connection.send(key, ['ZADD', key, '0', path[k - 1]!]))
    }
    await Promise.all(adds)
  }

  /**
   * Removes the group at `path` (depth 1 or 2) from its parent's child index if it holds nothing — no entries, no
   * listed children. Resolves to whether it was removed. Run it after reclaiming the group's expired entries.
   */
  async prune(path: ScopePath): Promise<boolean> {
    const scope = scopeKeys(this.prefix, path)
    const keys = [usageKey(scope), childrenKey(scope), markerKey(scope.group)]
    const emptied = await this.scripts.prune.run(this.connection, keys, [this.prefix, 'c'])
    if (emptied !== 1) return false
    const parent = childrenKey(scopeKeys(this.prefix, path.slice(0, -1)))
    await this.connection.send(parent, ['ZREM', parent, path[path.length - 1]!])
    // A writer may have registered the group between the check and the ZREM: then it holds its marker again.
    const marker = markerKey(scope.group)
    if (Number(await this.connection.send(marker, ['EXISTS', marker])) === 1) {
      await this.register(path)
      return false
    }
    return true
  }
}
