/**
 * `@cubby/core/raw`: byte-level access to an open cubby for tools that move encoded values between stores or over a
 * wire (the CLI's export, import and migrate; `@cubby/server`). Plugin code never needs it: use `KVStore`.
 */

import type { Cubby } from '../cubby.js'
import { engineOf } from '../cubby.js'
import { InvalidConfigError } from '../errors.js'
import { assertSegment } from '../keys.js'
import { assertStoragePath, USER_LEVEL } from '../layout.js'
import { ScopeContext } from '../store/context.js'
import { contextOf } from '../store/scope-store.js'
import type { KVStore } from '../types.js'
import { RawScope, type RawScopeOptions } from './raw-scope.js'

export { legacyToUserLayout, USER_LEVEL } from '../layout.js'
export { type RawListQuery, RawScope, type RawScopeOptions, type RawWrite } from './raw-scope.js'

/**
 * Raw access to the scope of `view`, a view made by `cubby.scope()`, `cubby.stores()` or a view's `scope()` /
 * `user()` (the ambient `store` and `user` are not views of one scope: pass `cubby.stores(context)` instead).
 */
export function rawScope(view: KVStore, options?: RawScopeOptions): RawScope {
  const ctx = contextOf(view)
  if (!ctx) {
    throw new InvalidConfigError(
      'rawScope.view',
      'must be a view from cubby.scope(), cubby.stores() or a view of those (not the ambient store or user)',
    )
  }
  return new RawScope(ctx, options)
}

/**
 * Raw access to the scope at a storage path, as `RawScope.scopes()` names them: segments are non-empty except the
 * user level `''`, which may stand only at index 2 (`[workspace, plugin, '']`, whose children are the users, or
 * `[workspace, plugin, '', user, ...]`). Throws `InvalidScopeError` for any other path. Writes to the user level
 * itself are refused (it holds no keys of its own).
 */
export function rawScopeAt(cubby: Cubby, path: readonly string[], options?: RawScopeOptions): RawScope {
  const engine = engineOf(cubby)
  if (!engine) throw new InvalidConfigError('rawScopeAt.cubby', 'must be a Cubby from openCubby()')
  if (!Array.isArray(path)) throw new InvalidConfigError('rawScopeAt.path', 'must be an array of segments')
  const copy = [...path]
  for (const segment of copy) if (segment !== USER_LEVEL) assertSegment(segment, engine.limits.maxKeyBytes)
  assertStoragePath(copy, true)
  return new RawScope(new ScopeContext(engine, Object.freeze(copy)), options)
}
