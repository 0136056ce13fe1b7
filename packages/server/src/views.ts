import type { Cubby, KVStore } from '@cubby/core'
import { type RawScope, type RawScopeOptions, rawScopeAt } from '@cubby/core/raw'

/** The `KVStore` view of a storage path (a user's scope is reached through `user()`, never by name). */
export function viewAt(cubby: Cubby, path: readonly string[]): KVStore {
  if (path.length >= 4 && path[2] === '') {
    const user = cubby.scope(path[0]!, path[1]!).user(path[3]!)
    return path.length > 4 ? user.scope(...path.slice(4)) : user
  }
  return cubby.scope(...path)
}

/** Raw scopes by path, so hot paths do not rebuild one per request; bounded, oldest dropped first. */
export class RawScopes {
  private readonly cache = new Map<string, RawScope>()

  constructor(
    private readonly cubby: Cubby,
    private readonly options: RawScopeOptions,
    private readonly max = 256,
  ) {}

  /** The raw scope at `path` (validated by core: segments, depth, the user level only at index 2). */
  at(path: readonly string[]): RawScope {
    const key = JSON.stringify(path)
    let raw = this.cache.get(key)
    if (raw) return raw
    raw = rawScopeAt(this.cubby, path, this.options)
    if (this.cache.size >= this.max) this.cache.delete(this.cache.keys().next().value!)
    this.cache.set(key, raw)
    return raw
  }
}
