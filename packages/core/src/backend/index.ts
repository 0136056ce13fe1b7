/**
 * `@cubby/core/backend`: everything needed to write a backend. See `contract.ts` for the interface and its rules.
 */

export { numberCodec } from '../codec/number.js'
export * from '../errors.js'
export { compareKeys, MAX_SCOPE_DEPTH, utf8Length } from '../keys.js'
export { legacyToUserLayout, USER_LEVEL } from '../layout.js'
export { loadFactory, schemeOf } from '../registry.js'
export { decodeScopePath, encodeScopePath, isWithin } from '../scope-path.js'
export type {
  Backend,
  BackendCapabilities,
  BackendFactory,
  BackendInit,
  ChangeEvent,
  ListQuery,
  OpResult,
  QuotaRule,
  ScopePath,
  StoredEntry,
  Usage,
  WatchSink,
  WatchSubscription,
  WriteCheck,
  WriteOp,
  WriteRequest,
  WriteResult,
} from './contract.js'
export { Deadlines } from './deadlines.js'
export { incrSum, matchesQuery, notANumber, prefixEnd, quotaCheck } from './helpers.js'
