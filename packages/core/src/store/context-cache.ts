import type { ScopeContext } from './context.js'

/** What `cubby.stores()` and `cubby.run()` resolve a plugin context to. */
export interface ResolvedContext {
  workspace: string
  plugin: string
  user: string | undefined
  /** The context of `[workspace, plugin]`. */
  store: ScopeContext
  /** The context of `[workspace, plugin, '', user]`, when there is a user. */
  userStore: ScopeContext | undefined
}

/** How many resolved contexts a cache holds before it starts over. @default 4096 */
export const MAX_CACHED_CONTEXTS = 4096

/**
 * The plugin contexts a cubby has resolved, by workspace, plugin and user: a host calls `stores()` or `run()` on
 * every request with the same few names, and each resolution validates the names and makes the scope contexts (whose
 * frozen paths backends key their own caches by). Only validated names are ever added, so a hit needs no validation.
 * Bounded: past `MAX_CACHED_CONTEXTS` entries the cache is emptied and fills again.
 */
export class ContextCache {
  /** workspace → plugin → user (`undefined` for none) → resolved context. */
  private readonly workspaces = new Map<string, Map<string, Map<string | undefined, ResolvedContext>>>()
  private size = 0

  constructor(private readonly max = MAX_CACHED_CONTEXTS) {}

  /** The resolved context of these names, if cached (names of other types are never cached: a miss). */
  get(workspace: unknown, plugin: unknown, user: unknown): ResolvedContext | undefined {
    return this.workspaces
      .get(workspace as string)
      ?.get(plugin as string)
      ?.get(user as string | undefined)
  }

  /** Caches `resolved` (its names already validated) and returns it. */
  add(resolved: ResolvedContext): ResolvedContext {
    if (this.size >= this.max) {
      this.workspaces.clear()
      this.size = 0
    }
    let plugins = this.workspaces.get(resolved.workspace)
    if (!plugins) {
      plugins = new Map()
      this.workspaces.set(resolved.workspace, plugins)
    }
    let users = plugins.get(resolved.plugin)
    if (!users) {
      users = new Map()
      plugins.set(resolved.plugin, users)
    }
    if (!users.has(resolved.user)) this.size++
    users.set(resolved.user, resolved)
    return resolved
  }
}

/**
 * The contexts of child scopes that views made with `scope(segment)` or `user(id)`, by parent context and name, so
 * a view made per request (`store.scope('sessions')`, `store.user(id)`) reuses the validated path, its quota rules
 * and the backends' caches keyed by that path. Only validated names are added. Bounded like `ContextCache`.
 */
export class ChildContexts {
  private readonly byParent = new Map<ScopeContext, Map<string, ScopeContext>>()
  private size = 0

  constructor(private readonly max = MAX_CACHED_CONTEXTS) {}

  /** The cached child `name` of `parent` (a name of another type is a miss). */
  get(parent: ScopeContext, name: unknown): ScopeContext | undefined {
    return this.byParent.get(parent)?.get(name as string)
  }

  /** Caches `child` as `parent`'s child `name` (already validated) and returns it. */
  add(parent: ScopeContext, name: string, child: ScopeContext): ScopeContext {
    if (this.size >= this.max) {
      this.byParent.clear()
      this.size = 0
    }
    let children = this.byParent.get(parent)
    if (!children) {
      children = new Map()
      this.byParent.set(parent, children)
    }
    if (!children.has(name)) this.size++
    children.set(name, child)
    return child
  }
}
