import type { ScopePath, Usage } from '../backend/contract.js'
import type { Engine } from '../engine.js'
import { InvalidScopeError, UnsupportedError } from '../errors.js'
import { assertSegment, extendPath } from '../keys.js'
import { isPluginPath, PLUGIN_DEPTH, USER_LEVEL, userPath } from '../layout.js'
import type {
  AtomicBatch,
  DeleteOptions,
  Entry,
  IncrOptions,
  IterateOptions,
  KeyInfo,
  KVStore,
  ListOptions,
  ListPage,
  ScopesOptions,
  ScopesPage,
  SetManyOptions,
  SetOptions,
  UpdateOptions,
  UsersOptions,
  UsersPage,
  Watch,
  WatchFilter,
  WatchOptions,
} from '../types.js'
import { Atomic } from './atomic.js'
import { ScopeContext } from './context.js'
import { iterate, list, scopes, users } from './listing.js'
import * as reads from './reads.js'
import { ScopeWatch } from './watch.js'
import * as writes from './writes.js'

/** The scope context behind a view made by this core, or undefined for anything else (e.g. the ambient stores). */
export function contextOf(view: unknown): ScopeContext | undefined {
  return ScopeStore.contextOf(view)
}

/** The `KVStore` of one scope: validates arguments and delegates to the operation modules. */
export class ScopeStore implements KVStore {
  /**
   * A true private field: core's own tools reach it through `contextOf`; plugin code cannot reach it, nor through an
   * atomic batch or a watch (test/private-context.test.ts).
   */
  readonly #ctx: ScopeContext
  /** The context of `[workspace, plugin, '']`, the parent of this plugin's users (made on first use). */
  #usersCtx: ScopeContext | undefined

  /** A view of the scope of `ctx`, whose path is a valid storage path (see `layout.ts`). */
  constructor(ctx: ScopeContext) {
    this.#ctx = ctx
  }

  /** A view of `path`, which must be a valid storage path; `scope()` and `user()` make sure of it. */
  static at(engine: Engine, path: ScopePath): ScopeStore {
    return new ScopeStore(new ScopeContext(engine, Object.freeze([...path])))
  }

  /** The context of `view` if it is a `ScopeStore`. */
  static contextOf(view: unknown): ScopeContext | undefined {
    return typeof view === 'object' && view !== null && #ctx in view ? (view as ScopeStore).#ctx : undefined
  }

  get path(): readonly string[] {
    return this.#ctx.path
  }

  scope(...segments: string[]): KVStore {
    const { engine } = this.#ctx
    const children = engine.scopeChildren
    // A view made per request reuses the contexts of its path (see `ChildContexts`): each was validated when made.
    let ctx: ScopeContext | undefined = this.#ctx
    for (let i = 0; i < segments.length && ctx; i++) ctx = children.get(ctx, segments[i])
    if (ctx) return new ScopeStore(ctx)
    const path = extendPath(this.#ctx.path, segments, engine.limits.maxKeyBytes) // throws for any bad segment
    // Every prefix of a valid path is valid: make (or find) the context of each level.
    ctx = this.#ctx
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i]!
      ctx =
        children.get(ctx, segment) ??
        children.add(ctx, segment, new ScopeContext(engine, Object.freeze(path.slice(0, ctx.path.length + 1))))
    }
    return new ScopeStore(ctx)
  }

  user(id: string): KVStore {
    const ctx = this.#ctx
    const { engine } = ctx
    const cached = engine.userChildren.get(ctx, id)
    if (cached) return new ScopeStore(cached)
    this.assertPlugin('user(id)')
    assertSegment(id, engine.limits.maxKeyBytes, 'user id')
    const child = new ScopeContext(engine, Object.freeze(userPath(ctx.path, id)))
    return new ScopeStore(engine.userChildren.add(ctx, id, child))
  }

  async users(options?: UsersOptions): Promise<UsersPage> {
    this.assertPlugin('users()')
    this.#usersCtx ??= new ScopeContext(this.#ctx.engine, Object.freeze([...this.#ctx.path, USER_LEVEL]))
    return users(this.#usersCtx, options)
  }

  private assertPlugin(call: string): void {
    if (isPluginPath(this.#ctx.path)) return
    throw new InvalidScopeError(
      `${call} works on a plugin's scope [workspace, plugin] (from stores() or scope(workspace, plugin)), ` +
        `not on ${JSON.stringify(this.#ctx.path)}, which is ${this.#ctx.path.length < PLUGIN_DEPTH ? 'above' : 'below'} it`,
    )
  }

  get<T = unknown>(key: string): Promise<T | undefined>
  get<T = unknown>(key: string, fallback: T): Promise<T>
  get<T = unknown>(key: string, fallback?: T): Promise<T | undefined> {
    return reads.get(this.#ctx, key, fallback)
  }

  getEntry<T = unknown>(key: string): Promise<Entry<T> | undefined> {
    return reads.getEntry<T>(this.#ctx, key)
  }

  has(key: string): Promise<boolean> {
    return reads.has(this.#ctx, key)
  }

  getMany<T = unknown>(keys: readonly string[]): Promise<(T | undefined)[]> {
    return reads.getMany<T>(this.#ctx, keys)
  }

  set(key: string, value: unknown, options?: SetOptions): Promise<string> {
    return writes.set(this.#ctx, key, value, options)
  }

  delete(key: string, options?: DeleteOptions): Promise<boolean> {
    return writes.del(this.#ctx, key, options)
  }

  update<T = unknown>(
    key: string,
    fn: (current: T | undefined) => T | undefined | Promise<T | undefined>,
    options?: UpdateOptions,
  ): Promise<T | undefined> {
    return writes.update<T>(this.#ctx, key, fn, options)
  }

  incr(key: string, by?: number, options?: IncrOptions): Promise<number> {
    return writes.incr(this.#ctx, key, by, options)
  }

  setMany(
    entries: Iterable<readonly [string, unknown]> | Record<string, unknown>,
    options?: SetManyOptions,
  ): Promise<void> {
    return writes.setMany(this.#ctx, entries, options)
  }

  deleteMany(keys: readonly string[]): Promise<number> {
    return writes.deleteMany(this.#ctx, keys)
  }

  list<T = unknown>(options?: ListOptions & { values?: true }): Promise<ListPage<Entry<T>>>
  list(options: ListOptions & { values: false }): Promise<ListPage<KeyInfo>>
  list<T = unknown>(options?: ListOptions): Promise<ListPage<Entry<T> | KeyInfo>> {
    return list<T>(this.#ctx, options)
  }

  entries<T = unknown>(options?: IterateOptions): AsyncIterableIterator<Entry<T>> {
    return iterate<T>(this.#ctx, options, true) as AsyncIterableIterator<Entry<T>>
  }

  async *keys(options?: IterateOptions): AsyncIterableIterator<string> {
    for await (const entry of iterate(this.#ctx, options, false)) yield entry.key
  }

  atomic(): AtomicBatch {
    return new Atomic(this.#ctx)
  }

  watch(filter?: WatchFilter, options?: WatchOptions): Watch {
    return new ScopeWatch(this.#ctx, filter, options)
  }

  async clear(): Promise<number> {
    const { engine, path } = this.#ctx
    const now = engine.clock()
    return engine.call(() => engine.backend.clear(path, now))
  }

  async drop(): Promise<void> {
    const { engine, path } = this.#ctx
    const now = engine.clock()
    return engine.call(() => engine.backend.drop(path, now))
  }

  async usage(): Promise<Usage> {
    const { engine, path } = this.#ctx
    if (!engine.backend.capabilities.quotas) {
      throw new UnsupportedError(`the ${engine.backend.name} backend does not track usage`)
    }
    const now = engine.clock()
    return engine.call(() => engine.backend.usage(path, now))
  }

  scopes(options?: ScopesOptions): Promise<ScopesPage> {
    return scopes(this.#ctx, options)
  }
}
