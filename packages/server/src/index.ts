/**
 * `@cubby/server`: serves an open cubby to out-of-process plugins over the Cubby remote protocol (PROTOCOL.md),
 * with scope-bound tokens. Mint tokens with `mintToken`; clients use `@cubby/backend-remote`.
 */
export type { Region, Session } from './access.js'
export type { CubbyServerOptions } from './options.js'
export { CubbyServer, createCubbyServer } from './server.js'
export {
  Keyring,
  type KeyringOptions,
  mintToken,
  PERMISSIONS,
  type Permission,
  type RootClaims,
  type TokenClaims,
  type TokenKey,
  type VerifiedToken,
  verifyToken,
} from './tokens.js'
