import { ForbiddenError } from '@cubby/core'
import type { Permission, VerifiedToken } from './tokens.js'

/** A verified session: its token and the storage path every request's relative path is appended to. */
export interface Session extends VerifiedToken {
  /** `[]` for a root token, else `[workspace, plugin]`. */
  base: string[]
}

/** Where a request's path falls within a session's context. */
export type Region =
  /** The plugin's own scope `[workspace, plugin]`, whose subtree also holds every user's data. */
  | 'plugin'
  /** The user level `[workspace, plugin, '']`: its children are the users. */
  | 'users'
  /** Anything else the token opens (a sub-scope, the token's user's scope), or any path of a root token. */
  | 'inside'

/** A session for a verified token. */
export function sessionOf(token: VerifiedToken): Session {
  return { ...token, base: token.root ? [] : [token.workspace!, token.plugin!] }
}

/** Throws `ForbiddenError` unless the session holds `permission`. */
export function requirePermission(session: Session, permission: Permission, what: string): void {
  if (!session.access.has(permission)) {
    throw new ForbiddenError(`${what} needs the '${permission}' permission, which this token does not grant`)
  }
}

/**
 * The storage path of `rel` (a path relative to the session's base, as the client sent it) and its region, or
 * `ForbiddenError` when it is outside the token's context: another user's scope, or any user's for a token without
 * a user. Segment validity and depth are checked afterwards by core (`rawScopeAt`).
 */
export function resolve(session: Session, rel: readonly string[]): { path: string[]; region: Region } {
  const path = session.base.length === 0 ? [...rel] : [...session.base, ...rel]
  if (session.root) return { path, region: 'inside' }
  if (rel.length === 0) return { path, region: 'plugin' }
  if (rel[0] !== '') return { path, region: 'inside' }
  if (rel.length === 1) return { path, region: 'users' }
  if (session.user === undefined)
    throw new ForbiddenError('this token names no user: user scopes are outside its context')
  if (rel[1] !== session.user) throw new ForbiddenError('that user scope is not this token’s user')
  return { path, region: 'inside' }
}

/** Whether two sessions name the same context (a watch may be resumed only by the context that started it). */
export function sameContext(a: Session, b: Session): boolean {
  return a.root === b.root && a.workspace === b.workspace && a.plugin === b.plugin && a.user === b.user
}
