/**
 * `@cubby/conformance`: the suite every Cubby backend must pass. A backend package calls `runConformance` from one
 * of its vitest files (top-level `await`):
 *
 * ```ts
 * import { runConformance } from '@cubby/conformance'
 * await runConformance({ name: 'my-backend', create: async ({ clock }) => ({ backend, peer, backdoor, cleanup }) })
 * ```
 *
 * Every group runs unless the backend declares the capability it needs as missing; a skipped group, and every
 * skipped test inside a group that needs a further capability, is reported with its reason (in its name and on the
 * console).
 */
import { describe, it } from 'vitest'
import { batchesGroup } from './groups/batches.js'
import { concurrencyGroup } from './groups/concurrency.js'
import { contextGroup } from './groups/context.js'
import { errorsGroup } from './groups/errors.js'
import { keysGroup } from './groups/keys.js'
import { limitsGroup } from './groups/limits.js'
import { listingGroup } from './groups/listing.js'
import { modelGroup } from './groups/model.js'
import { quotasGroup } from './groups/quotas.js'
import { scopesGroup } from './groups/scopes.js'
import { ttlGroup } from './groups/ttl.js'
import { usageGroup } from './groups/usage.js'
import { usersGroup } from './groups/users.js'
import { valuesGroup } from './groups/values.js'
import { versionsGroup } from './groups/versions.js'
import { watchGroup } from './groups/watch.js'
import type { ConformanceTarget } from './target.js'

export { assertFreshDist } from './fresh-dist.js'
export { type Env, FakeClock, setup, sharedBackend, waitFor } from './harness.js'
export type { Backdoor, ConformanceHandle, ConformanceTarget } from './target.js'

/** A group that needs a capability; listed so skips can say why. */
interface Gated {
  name: string
  capability: 'ttl' | 'watch' | 'quotas'
  define: () => void
}

/**
 * Registers the whole suite for `target` as vitest tests. Reads the backend's capabilities from one probe instance,
 * so call it with top-level `await`.
 */
export async function runConformance(target: ConformanceTarget): Promise<void> {
  const probe = await target.create({ clock: Date.now })
  const capabilities = Object.freeze({ ...probe.backend.capabilities })
  await probe.backend.close()
  await probe.cleanup?.()

  const gated: Gated[] = [
    { name: 'ttl', capability: 'ttl', define: () => ttlGroup(target, capabilities) },
    { name: 'watch', capability: 'watch', define: () => watchGroup(target, capabilities) },
    { name: 'quotas', capability: 'quotas', define: () => quotasGroup(target, capabilities.minQuotaDepth) },
    { name: 'usage', capability: 'quotas', define: () => usageGroup(target) },
  ]

  describe(`conformance: ${target.name}`, () => {
    valuesGroup(target)
    keysGroup(target, capabilities)
    listingGroup(target)
    versionsGroup(target)
    batchesGroup(target)
    concurrencyGroup(target)
    scopesGroup(target)
    limitsGroup(target)
    errorsGroup(target)
    contextGroup(target)
    usersGroup(target, capabilities)
    modelGroup(target, capabilities)
    for (const group of gated) {
      if (capabilities[group.capability]) {
        group.define()
      } else {
        const reason = `backend declares capabilities.${group.capability} = false`
        console.warn(`[conformance: ${target.name}] skipping group "${group.name}": ${reason}`)
        describe.skip(`${group.name} (skipped: ${reason})`, () => {
          it('needs the capability', () => {})
        })
      }
    }
  })
}
