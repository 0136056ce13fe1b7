/**
 * `@cubby/backend-remote/wire`: frame encoding of the Cubby remote protocol, shared with `@cubby/server`.
 * packages/server/PROTOCOL.md is the normative description.
 */
export * from './buffer.js'
export { FrameSender } from './cork.js'
export * from './errors.js'
export * from './protocol.js'
