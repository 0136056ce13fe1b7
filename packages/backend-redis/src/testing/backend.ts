import type { LayoutReport } from '../layout.js'
import { resolveOptions } from '../options.js'
import { type InternalOptions, layoutReports, openRedis, type RedisBackend } from '../redis-backend.js'

export type { MigrationHooks } from '../layout.js'
export type { InternalOptions } from '../redis-backend.js'

/**
 * Opens a Redis backend with test-only options: scripts that fail on any key they did not declare (`checkKeys`),
 * hooks into the layout migration. `options` are the backend options of `openCubby` (`prefix`, …).
 */
export function openTestBackend(
  url: string,
  options: Readonly<Record<string, unknown>>,
  clock: () => number,
  timeoutMs: number,
  internal: InternalOptions = {},
): Promise<RedisBackend> {
  return openRedis(resolveOptions(url, options), clock, timeoutMs, internal)
}

/** What a backend's open did about the stored layout: current, migrated by it, or waited for another instance. */
export function layoutReport(backend: RedisBackend): LayoutReport | undefined {
  return layoutReports.get(backend)
}
