import { type BoundContext, contextStorage } from './ambient.js'
import type { BackendCapabilities } from './backend/contract.js'
import type { Engine } from './engine.js'
import { InvalidConfigError } from './errors.js'
import { assertSegment } from './keys.js'
import { userPath } from './layout.js'
import type { Limits } from './limits.js'
import { ScopeContext } from './store/context.js'
import { ContextCache, type ResolvedContext } from './store/context-cache.js'
import { ScopeStore } from './store/scope-store.js'
import type { KVStore } from './types.js'

/** Names a plugin's data in the plugin-host hierarchy workspace -> plugin -> user. */
export interface PluginContext {
  /** @default 'default' */
  workspace?: string
  /** The plugin id, without a version, so data survives upgrades. */
  plugin: string
  /** The user on whose behalf the plugin runs, if any. */
  user?: string
}

/** The stores of a plugin context. */
export interface PluginStores {
  /** The plugin's scope `[workspace, plugin]`, shared by all its users. */
  store: KVStore
  /**
   * The user's private scope `[workspace, plugin, '', user]` (the empty segment marks the user level, which no
   * `scope()` call can reach); absent without a user.
   */
  user?: KVStore
}

/** The engine of every `Cubby`, for core's own tools (`@cubby/core/raw`). */
const engines = new WeakMap<object, Engine>()

/** The engine behind a `Cubby` made by this core, or undefined for anything else. @internal */
export function engineOf(cubby: unknown): Engine | undefined {
  return typeof cubby === 'object' && cubby !== null ? engines.get(cubby) : undefined
}

/** Default workspace of `stores()` / `run()` when none is given. */
export const DEFAULT_WORKSPACE = 'default'

/** An open store. Create with `openCubby`; views from `scope()` and `stores()` share its connection. */
export class Cubby {
  private readonly root: ScopeStore
  /** What `stores()` and `run()` resolved, so a request's context is validated and built once, not per request. */
  private readonly resolved = new ContextCache()

  /** @internal */
  constructor(private readonly engine: Engine) {
    this.root = ScopeStore.at(engine, [])
    engines.set(this, engine)
  }

  /** The backend's name and capabilities. */
  get backend(): { name: string; capabilities: Readonly<BackendCapabilities> } {
    return { name: this.engine.backend.name, capabilities: this.engine.backend.capabilities }
  }

  /** The limits this cubby enforces (the defaults merged with `openCubby({ limits })`), frozen. */
  get limits(): Readonly<Limits> {
    return this.engine.limits
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.engine.closed
  }

  /** A view of a scope; no segments = the root scope. Throws `InvalidScopeError` at once for a bad segment. */
  scope(...segments: string[]): KVStore {
    return segments.length === 0 ? this.root : this.root.scope(...segments)
  }

  /**
   * The plugin's shared store `[workspace, plugin]` and, with a user, the user's private store (`store.user(user)`),
   * which lives in a level of its own: no `scope()` of the plugin's store can name it.
   */
  stores(context: PluginContext): PluginStores {
    const resolved = this.resolve(context)
    const store = new ScopeStore(resolved.store)
    return resolved.userStore ? { store, user: new ScopeStore(resolved.userStore) } : { store }
  }

  /**
   * Runs `fn` with `context` bound, so the ambient `store` and `user` exported by `@cubby/core` act on this
   * plugin's (and user's) scopes; returns what `fn` returns. Contexts of concurrent runs never mix.
   */
  run<R>(context: PluginContext, fn: () => R): R {
    const { workspace, plugin, user, store, userStore } = this.resolve(context)
    const bound: BoundContext =
      user === undefined
        ? { workspace, plugin, store: new ScopeStore(store), userStore: undefined }
        : { workspace, plugin, user, store: new ScopeStore(store), userStore: userStore && new ScopeStore(userStore) }
    return contextStorage.run(bound, fn)
  }

  /** Ends watches, lets calls in flight finish, and releases the backend. Later calls reject with `ClosedError`. */
  close(): Promise<void> {
    return this.engine.close()
  }

  /** Validates a plugin context (once per distinct names: see `ContextCache`) and resolves it to its scopes. */
  private resolve(context: PluginContext): ResolvedContext {
    if (typeof context !== 'object' || context === null) {
      throw new InvalidConfigError('context', 'must be an object like { workspace?, plugin, user? }')
    }
    for (const name of Object.keys(context)) {
      // A typo such as `usr` would silently put a user's data in the plugin's shared scope.
      if (name !== 'workspace' && name !== 'plugin' && name !== 'user') {
        throw new InvalidConfigError(`context.${name}`, 'is not a context field (known: workspace, plugin, user)')
      }
    }
    // Only an absent workspace means the default: `null` is a mistake, not a choice.
    const workspace = context.workspace === undefined ? DEFAULT_WORKSPACE : context.workspace
    const { plugin, user } = context
    const cached = this.resolved.get(workspace, plugin, user)
    if (cached) return cached
    const maxBytes = this.engine.limits.maxKeyBytes
    assertSegment(workspace, maxBytes, 'workspace')
    assertSegment(plugin, maxBytes, 'plugin id')
    if (user !== undefined) assertSegment(user, maxBytes, 'user id')
    // Users of one plugin share its context, and with it the path backends know it by.
    let base = this.resolved.get(workspace, plugin, undefined)
    if (!base) {
      // The context `cubby.scope(workspace, plugin)` views share (validated above, so this cannot throw).
      const store = ScopeStore.contextOf(this.root.scope(workspace, plugin))!
      base = this.resolved.add({ workspace, plugin, user: undefined, store, userStore: undefined })
    }
    if (user === undefined) return base
    // The same context as `store.user(user)` of this plugin's views.
    const children = this.engine.userChildren
    const userStore =
      children.get(base.store, user) ??
      children.add(base.store, user, new ScopeContext(this.engine, Object.freeze(userPath(base.store.path, user))))
    return this.resolved.add({ workspace, plugin, user, store: base.store, userStore })
  }
}
