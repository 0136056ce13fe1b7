import { type BoundContext, contextStorage } from './ambient.js'
import type { BackendCapabilities } from './backend/contract.js'
import type { Engine } from './engine.js'
import { InvalidConfigError } from './errors.js'
import { assertSegment } from './keys.js'
import type { Limits } from './limits.js'
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

  /** @internal */
  constructor(private readonly engine: Engine) {
    this.root = new ScopeStore(engine, [])
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
    const { workspace, plugin, user } = this.readContext(context)
    const store = new ScopeStore(this.engine, [workspace, plugin])
    return user === undefined ? { store } : { store, user: store.user(user) }
  }

  /**
   * Runs `fn` with `context` bound, so the ambient `store` and `user` exported by `@cubby/core` act on this
   * plugin's (and user's) scopes; returns what `fn` returns. Contexts of concurrent runs never mix.
   */
  run<R>(context: PluginContext, fn: () => R): R {
    const names = this.readContext(context)
    const { store, user } = this.stores(context)
    const bound: BoundContext = { ...names, store, userStore: user }
    return contextStorage.run(bound, fn)
  }

  /** Ends watches, lets calls in flight finish, and releases the backend. Later calls reject with `ClosedError`. */
  close(): Promise<void> {
    return this.engine.close()
  }

  private readContext(context: PluginContext): { workspace: string; plugin: string; user?: string } {
    if (typeof context !== 'object' || context === null) {
      throw new InvalidConfigError('context', 'must be an object like { workspace?, plugin, user? }')
    }
    for (const name of Object.keys(context)) {
      // A typo such as `usr` would silently put a user's data in the plugin's shared scope.
      if (name !== 'workspace' && name !== 'plugin' && name !== 'user') {
        throw new InvalidConfigError(`context.${name}`, 'is not a context field (known: workspace, plugin, user)')
      }
    }
    const maxBytes = this.engine.limits.maxKeyBytes
    // Only an absent workspace means the default: `null` is a mistake, not a choice.
    const workspace = context.workspace === undefined ? DEFAULT_WORKSPACE : context.workspace
    assertSegment(workspace, maxBytes, 'workspace')
    assertSegment(context.plugin, maxBytes, 'plugin id')
    if (context.user !== undefined) assertSegment(context.user, maxBytes, 'user id')
    return context.user === undefined
      ? { workspace, plugin: context.plugin }
      : { workspace, plugin: context.plugin, user: context.user }
  }
}
