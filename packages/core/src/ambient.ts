import { AsyncLocalStorage } from 'node:async_hooks'
import type { Usage } from './backend/contract.js'
import { NoContextError } from './errors.js'
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
} from './types.js'

/** What `cubby.run` binds for the duration of a call. */
export interface BoundContext {
  workspace: string
  plugin: string
  user?: string
  store: KVStore
  userStore: KVStore | undefined
}

/** @internal */
export const contextStorage = new AsyncLocalStorage<BoundContext>()

/** The context bound by the innermost enclosing `cubby.run`, if any. */
export function currentContext(): Readonly<Omit<BoundContext, 'store' | 'userStore'>> | undefined {
  const bound = contextStorage.getStore()
  return (
    bound && {
      workspace: bound.workspace,
      plugin: bound.plugin,
      ...(bound.user === undefined ? {} : { user: bound.user }),
    }
  )
}

/**
 * A `KVStore` that acts on the scope bound by the enclosing `cubby.run()`. Every call binds the scope when it is
 * made (an iterator or a watch created inside a run keeps acting on that run's scope). Promise-returning calls reject
 * with `NoContextError` outside a run, and iterators reject on their first `next()`; `scope`, `watch`, `atomic` and
 * `path` throw it.
 */
class AmbientStore implements KVStore {
  constructor(private readonly which: 'store' | 'user') {}

  private resolve(): KVStore {
    const bound = contextStorage.getStore()
    if (!bound) {
      throw new NoContextError(
        `the ambient \`${this.which}\` was used outside cubby.run(); wrap the request in cubby.run({ plugin, user }, fn)`,
      )
    }
    if (this.which === 'store') return bound.store
    if (!bound.userStore) {
      throw new NoContextError(
        `no user is bound in this cubby.run() (plugin ${JSON.stringify(bound.plugin)}); pass { user } to cubby.run to use \`user\``,
      )
    }
    return bound.userStore
  }

  get path(): readonly string[] {
    return this.resolve().path
  }
  scope(...segments: string[]): KVStore {
    return this.resolve().scope(...segments)
  }
  user(id: string): KVStore {
    return this.resolve().user(id)
  }
  async users(options?: UsersOptions): Promise<UsersPage> {
    return this.resolve().users(options)
  }
  get<T = unknown>(key: string): Promise<T | undefined>
  get<T = unknown>(key: string, fallback: T): Promise<T>
  get<T = unknown>(key: string, fallback?: T): Promise<T | undefined> {
    // The hot calls below are not async functions (one promise less each): the views never throw, so the try only
    // turns a missing context into a rejection.
    try {
      return this.resolve().get<T>(key, fallback as T)
    } catch (error) {
      return Promise.reject(error)
    }
  }
  getEntry<T = unknown>(key: string): Promise<Entry<T> | undefined> {
    try {
      return this.resolve().getEntry<T>(key)
    } catch (error) {
      return Promise.reject(error)
    }
  }
  has(key: string): Promise<boolean> {
    try {
      return this.resolve().has(key)
    } catch (error) {
      return Promise.reject(error)
    }
  }
  set(key: string, value: unknown, options?: SetOptions): Promise<string> {
    try {
      return this.resolve().set(key, value, options)
    } catch (error) {
      return Promise.reject(error)
    }
  }
  delete(key: string, options?: DeleteOptions): Promise<boolean> {
    try {
      return this.resolve().delete(key, options)
    } catch (error) {
      return Promise.reject(error)
    }
  }
  async update<T = unknown>(
    key: string,
    fn: (current: T | undefined) => T | undefined | Promise<T | undefined>,
    options?: UpdateOptions,
  ): Promise<T | undefined> {
    return this.resolve().update<T>(key, fn, options)
  }
  incr(key: string, by?: number, options?: IncrOptions): Promise<number> {
    try {
      return this.resolve().incr(key, by, options)
    } catch (error) {
      return Promise.reject(error)
    }
  }
  getMany<T = unknown>(keys: readonly string[]): Promise<(T | undefined)[]> {
    try {
      return this.resolve().getMany<T>(keys)
    } catch (error) {
      return Promise.reject(error)
    }
  }
  setMany(
    entries: Iterable<readonly [string, unknown]> | Record<string, unknown>,
    options?: SetManyOptions,
  ): Promise<void> {
    try {
      return this.resolve().setMany(entries, options)
    } catch (error) {
      return Promise.reject(error)
    }
  }
  async deleteMany(keys: readonly string[]): Promise<number> {
    return this.resolve().deleteMany(keys)
  }
  list<T = unknown>(options?: ListOptions & { values?: true }): Promise<ListPage<Entry<T>>>
  list(options: ListOptions & { values: false }): Promise<ListPage<KeyInfo>>
  async list(options?: ListOptions): Promise<ListPage<Entry | KeyInfo>> {
    return this.resolve().list(options as ListOptions & { values?: true })
  }
  entries<T = unknown>(options?: IterateOptions): AsyncIterableIterator<Entry<T>> {
    // Bind the scope now, like every other call: an iterator created in one run must not read another run's data.
    return this.iterator(() => this.resolve().entries<T>(options))
  }
  keys(options?: IterateOptions): AsyncIterableIterator<string> {
    return this.iterator(() => this.resolve().keys(options))
  }
  /** The iterator `make` returns, or one whose first `next()` rejects with the error `make` threw. */
  private iterator<T>(make: () => AsyncIterableIterator<T>): AsyncIterableIterator<T> {
    try {
      return make()
    } catch (error) {
      let reported = false
      const failing: AsyncIterableIterator<T> = {
        next: () => {
          if (reported) return Promise.resolve({ value: undefined, done: true })
          reported = true
          return Promise.reject(error)
        },
        return: () => Promise.resolve({ value: undefined, done: true }),
        [Symbol.asyncIterator]: () => failing,
      }
      return failing
    }
  }
  atomic(): AtomicBatch {
    return this.resolve().atomic()
  }
  watch(filter?: WatchFilter, options?: WatchOptions): Watch {
    return this.resolve().watch(filter, options)
  }
  async clear(): Promise<number> {
    return this.resolve().clear()
  }
  async drop(): Promise<void> {
    return this.resolve().drop()
  }
  async usage(): Promise<Usage> {
    return this.resolve().usage()
  }
  async scopes(options?: ScopesOptions): Promise<ScopesPage> {
    return this.resolve().scopes(options)
  }
}

/** The current plugin's shared store, inside `cubby.run()`. */
export const store: KVStore = new AmbientStore('store')

/** The current user's private store, inside `cubby.run()` with a `user`. */
export const user: KVStore = new AmbientStore('user')
