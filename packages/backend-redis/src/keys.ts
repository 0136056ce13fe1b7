import type { ScopePath } from '@cubby/core/backend'

/**
 * Key layout. Every scope path is written injectively as `E`: `/` + its segments joined by `/`, each segment with
 * `%`, `/`, `:`, `{` and `}` percent-escaped (the root is `/`). Scopes share a "group" — a cluster hash tag — with
 * the first two segments of their path (`[workspace, plugin]`): a plugin's whole subtree, users included, lives in
 * one slot, so every write and its quota check is one atomic script there. Shallower scopes (the root, a workspace)
 * are each a group of their own. With prefix P and group tag T, a group's keys all start with `P:{T}:` (G):
 *
 * | key | type | holds |
 * |---|---|---|
 * | `G e:E:key` | string | an entry: `version|expiresAt|` + encoded value bytes |
 * | `G i:E` | sorted set, all scores 0 | the scope's keys, for ZRANGEBYLEX paging in byte order |
 * | `G u:E` | hash `k`, `b` | keys and bytes of the scope's subtree within the group |
 * | `G c:E` | sorted set, all scores 0 | names of child scopes (holding data, when the child is in the same group) |
 * | `G x` | sorted set by expiresAt | `E:key` of entries with a TTL, for the sweep |
 * | `G xs` | hash | `E:key` -> size of entries with a TTL (so a natively expired entry can still be accounted) |
 * | `G n` | string | the group's version counter (never deleted) |
 * | `G w:E` | sharded pub/sub channel | change events of the scope |
 * | `P:xg` | sorted set | groups with TTL entries, scored by their earliest expiry |
 */
export function escapeSegment(segment: string): string {
  return /[%/:{}]/.test(segment)
    ? segment.replace(/[%/:{}]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)
    : segment
}

/** Where one scope's keys live. */
export interface ScopeKeys {
  /** The injective text of the path (`E`). */
  id: string
  /** The group's key prefix `P:{T}:` (G). */
  group: string
  /** The group's tag text T, as registered in `P:xg`. */
  tag: string
  /** Path depth. */
  depth: number
}

const cache = new WeakMap<ScopePath, Map<string, ScopeKeys>>()

/** The keys of a scope under `prefix`, cached by path identity (core reuses path arrays per view). */
export function scopeKeys(prefix: string, path: ScopePath): ScopeKeys {
  let byPrefix = cache.get(path)
  let keys = byPrefix?.get(prefix)
  if (keys) return keys
  const escaped = path.map(escapeSegment)
  const id = `/${escaped.join('/')}`
  const tag = `/${escaped.slice(0, 2).join('/')}`
  keys = { id, group: `${prefix}:{${tag}}:`, tag, depth: path.length }
  if (!byPrefix) {
    byPrefix = new Map()
    cache.set(path, byPrefix)
  }
  byPrefix.set(prefix, keys)
  return keys
}

/** Depth at which a scope starts its own group: the tag is the first GROUP_DEPTH segments. */
export const GROUP_DEPTH = 2

export const entryKey = (scope: ScopeKeys, key: string) => `${scope.group}e:${scope.id}:${key}`
export const indexKey = (scope: ScopeKeys) => `${scope.group}i:${scope.id}`
export const usageKey = (scope: ScopeKeys) => `${scope.group}u:${scope.id}`
export const childrenKey = (scope: ScopeKeys) => `${scope.group}c:${scope.id}`
export const expiryKey = (scope: ScopeKeys) => `${scope.group}x`
export const versionKey = (scope: ScopeKeys) => `${scope.group}n`
export const channelKey = (scope: ScopeKeys) => `${scope.group}w:${scope.id}`
export const groupsKey = (prefix: string) => `${prefix}:xg`
/** The group prefix of a tag read back from `P:xg`. */
export const groupOfTag = (prefix: string, tag: string) => `${prefix}:{${tag}}:`
