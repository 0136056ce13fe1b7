import type { ScopePath } from './backend/contract.js'
import { InvalidScopeError } from './errors.js'

/** Largest scope depth: a path may have at most this many segments (the user-level marker does not count). */
export const MAX_SCOPE_DEPTH = 8

/**
 * The segment that marks the user level. A user's private scope is `[workspace, plugin, USER_LEVEL, userId]`, and a
 * user's own child scopes go below it. The marker is the empty string, which `scope()` can never produce (every
 * segment must be non-empty), so no plugin sub-scope name can reach a user and no user id can name a plugin
 * sub-scope, without reserving any name a plugin might want.
 */
export const USER_LEVEL = ''

/** Depth of a plugin's scope `[workspace, plugin]`: the only views that have users. */
export const PLUGIN_DEPTH = 2

/** Whether `path` is a plugin-level scope `[workspace, plugin]`, the parent of that plugin's users. */
export function isPluginPath(path: ScopePath): boolean {
  return path.length === PLUGIN_DEPTH && path[0] !== USER_LEVEL && path[1] !== USER_LEVEL
}

/** Whether `path` is a user's scope or lies below one. */
export function isUserPath(path: ScopePath): boolean {
  return path.length > PLUGIN_DEPTH + 1 && path[PLUGIN_DEPTH] === USER_LEVEL
}

/** The scope of user `id` of the plugin at `pluginPath` (validated by the caller). */
export function userPath(pluginPath: ScopePath, id: string): string[] {
  return [pluginPath[0]!, pluginPath[1]!, USER_LEVEL, id]
}

/** The user's scope `[workspace, plugin, '', id]` that `path` lies in, if any: what `quotas.user` caps. */
export function userRoot(path: ScopePath): ScopePath | undefined {
  return isUserPath(path) ? path.slice(0, PLUGIN_DEPTH + 2) : undefined
}

/** Segments a path counts toward `MAX_SCOPE_DEPTH`: the user-level marker is not one of them. */
export function visibleDepth(path: ScopePath): number {
  return isUserPath(path) ? path.length - 1 : path.length
}

/**
 * Checks that `path` is a well-formed storage path: at most `MAX_SCOPE_DEPTH` visible segments, and the user-level
 * marker nowhere but at index 2 of a path that names a user (or, with `userLevel`, of `[workspace, plugin, '']`
 * itself, the node whose children are the users, which raw tools walk). Segments are checked by the caller.
 */
export function assertStoragePath(path: ScopePath, userLevel = false): void {
  const shortest = userLevel ? PLUGIN_DEPTH + 1 : PLUGIN_DEPTH + 2
  for (let i = 0; i < path.length; i++) {
    if (path[i] !== USER_LEVEL) continue
    if (i !== PLUGIN_DEPTH || path.length < shortest) {
      throw new InvalidScopeError(
        `scope path ${JSON.stringify(path)} has an empty segment; segments must be non-empty ` +
          '(the user level is reached with stores({ user }) or store.user(id), never by name)',
      )
    }
  }
  if (visibleDepth(path) > MAX_SCOPE_DEPTH) {
    throw new InvalidScopeError(
      `scope path ${JSON.stringify(path)} is ${visibleDepth(path)} deep; at most ${MAX_SCOPE_DEPTH} segments are allowed`,
    )
  }
}

/**
 * Where data stored at `path` by a release before the user level existed lives now. In that layout a user's scope
 * was `[workspace, plugin, user]`, the same path a plugin's `scope(name)` named; every path of three or more
 * segments is taken as a user's: `[a, b, c, ...rest]` becomes `[a, b, '', c, ...rest]`. Shorter paths are unchanged.
 * Backends apply this rule when they migrate stored data, and the CLI when it imports an old export.
 */
export function legacyToUserLayout(path: ScopePath): string[] {
  return path.length <= PLUGIN_DEPTH ? [...path] : [path[0]!, path[1]!, USER_LEVEL, ...path.slice(PLUGIN_DEPTH)]
}
