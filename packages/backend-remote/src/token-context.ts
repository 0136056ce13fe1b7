import { InvalidConfigError, type PluginContext } from '@cubby/core'

/**
 * The context `{ workspace, plugin, user? }` a token names, read from its payload without checking the signature
 * (the server checks it on every connection; this only tells the plugin process which context to `run()` in).
 * Throws `InvalidConfigError('token', …)` for something that is not a Cubby plugin token.
 */
export function tokenContext(token: string): PluginContext {
  const parts = typeof token === 'string' ? token.split('.') : []
  let claims: Record<string, unknown>
  try {
    claims = JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>
  } catch {
    throw new InvalidConfigError('token', 'is not a Cubby token (expected a JWT from mintToken())')
  }
  const workspace = claims.cw
  const plugin = claims.cp
  const user = claims.cu
  if (parts.length !== 3 || typeof workspace !== 'string' || typeof plugin !== 'string') {
    throw new InvalidConfigError('token', 'does not name a plugin context (a root token has none)')
  }
  return typeof user === 'string' ? { workspace, plugin, user } : { workspace, plugin }
}
