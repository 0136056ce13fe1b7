import type { Cubby, KVStore } from '@cubby/core'
import { USER_LEVEL } from '@cubby/core/backend'

/**
 * The view of the scope at a storage path, as the CLI names scopes: a user's scope `[workspace, plugin, '', user,
 * ...]` is reached through `user()` (no `scope()` call can name it), anything else through `cubby.scope()`. Core
 * validates the segments and the depth, and the view's `path` is a frozen array the backend may cache by identity.
 * An empty segment anywhere but index 2 of a path naming a user is refused with `InvalidScopeError`.
 */
export function viewAt(cubby: Cubby, path: readonly string[]): KVStore {
  if (path.length >= 4 && path[2] === USER_LEVEL) {
    return cubby
      .scope(path[0]!, path[1]!)
      .user(path[3]!)
      .scope(...path.slice(4))
  }
  return cubby.scope(...path)
}

/** Whether `path` is a plugin's scope `[workspace, plugin]`, the only scope that has users. */
export function isPluginScope(path: readonly string[]): boolean {
  return path.length === 2
}
