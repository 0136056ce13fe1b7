import { QuotaExceededError } from '@cubby/core'
import type { Session } from './access.js'

/**
 * A quota error on a scope whose subtree holds data outside a plugin token's context (the plugin's whole store,
 * with its users; a workspace) would disclose that data's usage: its figures are withheld.
 */
export function redact(error: unknown, session: Session | undefined): unknown {
  if (!(error instanceof QuotaExceededError) || !session) return error
  const inside = session.root || error.scope.length > 2
  const scope = error.scope.length >= session.base.length ? error.scope.slice(session.base.length) : []
  if (inside) {
    const mapped = new QuotaExceededError({ ...error, scope })
    mapped.message = error.message
    return mapped
  }
  const hidden = new QuotaExceededError({
    scope: [],
    dimension: error.dimension,
    limit: error.limit,
    used: -1,
    requested: -1,
  })
  hidden.message =
    `quota exceeded: the plugin's storage is at its ${error.dimension} limit of ${error.limit} (usage outside this ` +
    "token's context is not disclosed); delete data or ask the host to raise the quota"
  return hidden
}
