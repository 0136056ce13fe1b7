/**
 * `@cubby/backend-memory/testing`: looks inside a `MemoryBackend`, for tests only (the conformance suite's backdoor,
 * checks that internal structures stay proportional to live data). Not part of the backend's API.
 */
import type { ScopePath } from '@cubby/core/backend'
import { type MemoryBackend, scopeId } from '../memory-backend.js'

/** The physically stored record of a key, ignoring expiry. */
export function peek(
  backend: MemoryBackend,
  scope: ScopePath,
  key: string,
): { value: Uint8Array; expiresAt?: number } | undefined {
  const rec = backend['byId'].get(scopeId(scope))?.entries.get(key)
  if (!rec) return undefined
  return rec.expiresAt === undefined ? { value: rec.value } : { value: rec.value, expiresAt: rec.expiresAt }
}

/** How many entries a scope physically holds (expired ones not yet reclaimed included). */
export function physicalCount(backend: MemoryBackend, scope: ScopePath): number {
  return backend['byId'].get(scopeId(scope))?.entries.size ?? 0
}

/** How many expiry items and index nodes the backend holds (both must stay proportional to live data). */
export function internalSizes(backend: MemoryBackend): {
  expiryItems: number
  ttlRecords: number
  usageNodes: number
  scopes: number
} {
  return {
    expiryItems: backend['expiries'].size,
    ttlRecords: backend['ttlRecords'],
    usageNodes: backend['usageTree'].size,
    scopes: backend['byId'].size,
  }
}
