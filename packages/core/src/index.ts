/**
 * `@cubby/core`: persistent key-value storage for plugin hosts. Start with `openCubby()`.
 */
export { currentContext, store, user } from './ambient.js'
export type {
  Backend,
  BackendCapabilities,
  BackendFactory,
  BackendInit,
  ChangeEvent,
  Usage,
} from './backend/contract.js'
export type { CustomType, JsonValue } from './codec/codec.js'
export { Codec } from './codec/codec.js'
export { Cubby, DEFAULT_WORKSPACE, type PluginContext, type PluginStores } from './cubby.js'
export * from './errors.js'
export { compareKeys, MAX_SCOPE_DEPTH } from './keys.js'
export { DEFAULT_LIMITS, type Limits } from './limits.js'
export { type CubbyOptions, DEFAULT_URL, openCubby } from './open.js'
export type { QuotaLimit, QuotaOptions, ScopeQuota } from './quotas.js'
export type * from './types.js'
