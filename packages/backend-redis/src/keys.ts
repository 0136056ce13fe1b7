import type { ScopePath } from '@cubby/core/backend'

/**
 * Key layout (the README has the full table). Every scope path is written injectively as `E`: `/` + its segments
 * joined by `/`, each segment with `%`, `/`, `:`, `{` and `}` percent-escaped (the root is `/`). Scopes share a
 * "group" — a cluster hash tag — with the first two segments of their path (`[workspace, plugin]`): a plugin's whole
 * subtree, users included, lives in one slot, so every write and its quota check is one atomic script there.
 * Shallower scopes (the root, a workspace) are each a group of their own. With prefix P and group tag T, a group's
 * keys all start with `P:{T}:` (G).
 */
export function escapeSegment(segment: string): string {
  return /[%/:{}]/.test(segment)
    ? segment.replace(/[%/:{}]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)
    : segment
}

/** Depth at which a scope starts its own group: the tag is the first GROUP_DEPTH segments. */
export const GROUP_DEPTH = 2

/** Where one scope's keys live. */
export interface ScopeKeys {
  /** The injective text of the path (`E`). */
  readonly id: string
  /** The group's key prefix `P:{T}:` (G). */
  readonly group: string
  /** The group's tag text T, as registered in `P:xg`. */
  readonly tag: string
  readonly depth: number
  readonly path: ScopePath
  /** `G e:E:` — an entry's key is this plus the user key. */
  readonly entries: string
  /** Usage and child-index keys a change in this scope touches, per mode (see `levelKeys`). */
  levels: { standalone?: string[]; cluster?: string[] }
  /** The keys a write call declares for this scope, per mode (see `writeKeys`). */
  writes: { standalone?: string[]; cluster?: string[] }
}

const cache = new WeakMap<ScopePath, Map<string, ScopeKeys>>()

/** The keys of a scope under `prefix`, cached by path identity (core reuses path arrays per view). */
export function scopeKeys(prefix: string, path: ScopePath): ScopeKeys {
  let byPrefix = cache.get(path)
  const known = byPrefix?.get(prefix)
  if (known) return known
  const escaped = path.map(escapeSegment)
  const id = `/${escaped.join('/')}`
  const tag = `/${escaped.slice(0, GROUP_DEPTH).join('/')}`
  const group = `${prefix}:{${tag}}:`
  const keys: ScopeKeys = {
    id,
    group,
    tag,
    depth: path.length,
    path,
    entries: flat(`${group}e:${id}:`),
    levels: {},
    writes: {},
  }
  if (!byPrefix) {
    byPrefix = new Map()
    cache.set(path, byPrefix)
  }
  byPrefix.set(prefix, keys)
  return keys
}

/**
 * The keys a call of the write function declares first when it writes in `scope` (lua/write.ts): the group's version
 * counter, expiry index, expiry sizes and registration marker (and, on one server, the index of groups with expiring
 * entries), then the scope's index and watch sequence and its level keys. A batch of more than one scope adds each
 * further scope's part, from `WRITE_HEAD_KEYS(standalone)` on. Cached per scope and mode, as flat strings: the
 * driver measures and copies every argument of every call, and a rope built per call shows in a profile.
 */
export function writeKeys(prefix: string, scope: ScopeKeys, standalone: boolean): string[] {
  const mode = standalone ? 'standalone' : 'cluster'
  const known = scope.writes[mode]
  if (known) return known
  const { group } = scope
  const keys = [versionKey(group), expiryKey(group), sizesKey(group), markerKey(group)]
  if (standalone) keys.push(groupsKey(prefix))
  keys.push(indexKey(scope), sequenceKey(scope))
  for (const key of levelKeys(prefix, scope, standalone)) keys.push(key)
  const flattened = keys.map(flat)
  scope.writes[mode] = flattened
  return flattened
}

/** How many of `writeKeys` belong to the group rather than the scope. */
export const writeHeadKeys = (standalone: boolean) => (standalone ? 5 : 4)

/**
 * A flat copy of `text`. Strings built with `+` or templates are ropes until first flattened; a string kept and
 * sent many times is cheaper flat from the start.
 */
export function flat(text: string): string {
  // JSON keeps every code unit, lone surrogates included (a UTF-8 round trip would not).
  return JSON.parse(JSON.stringify(text)) as string
}

/** Group prefix of a scope id E (`P:{first two segments}:`), as the Lua `groupOf` computes it. */
export function groupOfId(prefix: string, id: string): string {
  const match = /^\/[^/]*\/[^/]*/.exec(id)
  return `${prefix}:{${match ? match[0] : id}}:`
}

/**
 * The usage (`u:`) keys of the levels whose counters a change in `scope` updates, then the child-index (`c:`) keys
 * of their parents, exactly as the Lua `levels` walks them. On a cluster the levels are the scope's in-group
 * ancestors (from depth 2 down; a shallower scope alone); on one server they go up to the root, so every scope's
 * usage is one counter and quotas work at any depth.
 */
export function levelKeys(prefix: string, scope: ScopeKeys, standalone: boolean): string[] {
  const mode = standalone ? 'standalone' : 'cluster'
  const known = scope.levels[mode]
  if (known) return known
  const keys = levelKeysOfId(prefix, scope.id, standalone)
  scope.levels[mode] = keys
  return keys
}

/** `levelKeys` for a scope id read back from Redis (uncached). */
export function levelKeysOfId(prefix: string, id: string, standalone: boolean): string[] {
  const segments = id === '/' ? [] : id.slice(1).split('/')
  const first = standalone ? 0 : Math.min(segments.length, GROUP_DEPTH)
  const ids: string[] = []
  for (let k = first; k <= segments.length; k++) ids.push(k === 0 ? '/' : `/${segments.slice(0, k).join('/')}`)
  const usage = ids.map((level) => `${groupOfId(prefix, level)}u:${level}`)
  const children = ids.slice(0, -1).map((level) => `${groupOfId(prefix, level)}c:${level}`)
  return [...usage, ...children]
}

export const entryKey = (scope: ScopeKeys, key: string) => scope.entries + key
export const indexKey = (scope: ScopeKeys) => `${scope.group}i:${scope.id}`
export const usageKey = (scope: ScopeKeys) => `${scope.group}u:${scope.id}`
export const childrenKey = (scope: ScopeKeys) => `${scope.group}c:${scope.id}`
export const sequenceKey = (scope: ScopeKeys) => `${scope.group}q:${scope.id}`
export const channelKey = (scope: ScopeKeys) => `${scope.group}w:${scope.id}`
export const expiryKey = (group: string) => `${group}x`
export const sizesKey = (group: string) => `${group}xs`
export const versionKey = (group: string) => `${group}n`
export const markerKey = (group: string) => `${group}r`
export const groupsKey = (prefix: string) => `${prefix}:xg`
/** The group prefix of a tag read back from `P:xg`. */
export const groupOfTag = (prefix: string, tag: string) => `${prefix}:{${tag}}:`

const CRC16 = new Uint16Array(256)
for (let i = 0; i < 256; i++) {
  let crc = i << 8
  for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1
  CRC16[i] = crc & 0xffff
}

/** The Redis Cluster slot of a key or sharded channel (CRC16 of its hash tag, mod 16384). */
export function hashSlot(key: string): number {
  let bytes = Buffer.from(key, 'utf8')
  const open = bytes.indexOf(0x7b) // {
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1) // }
    if (close > open + 1) bytes = bytes.subarray(open + 1, close)
  }
  let crc = 0
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ CRC16[((crc >> 8) ^ byte) & 0xff]!
  return crc & 0x3fff
}
