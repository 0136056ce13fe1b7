import type { BackendCapabilities } from '@cubby/core'
import { it } from 'vitest'

/** A capability a test can need. */
export type Capability = 'ttl' | 'watch' | 'quotas'

/** Capabilities read from the backend under test, passed to every group. */
export type Capabilities = Readonly<BackendCapabilities>

/** Why a test needing `needs` cannot run on a backend with `capabilities`, or undefined when it can. */
export function missing(capabilities: Capabilities, needs: readonly Capability[]): string | undefined {
  const lacking = needs.filter((capability) => !capabilities[capability])
  if (lacking.length === 0) return undefined
  return `backend declares ${lacking.map((capability) => `capabilities.${capability} = false`).join(' and ')}`
}

/**
 * Registers a test that needs some capabilities. When the backend lacks one, the test is registered as skipped, with
 * the reason in its name and printed once, so a skipped assertion is never silent.
 */
export function gatedIt(
  capabilities: Capabilities,
  needs: readonly Capability[],
  name: string,
  fn: () => Promise<void>,
  timeout?: number,
): void {
  const reason = missing(capabilities, needs)
  if (reason === undefined) {
    it(name, fn, timeout)
    return
  }
  console.warn(`[conformance] skipping "${name}": ${reason}`)
  it.skip(`${name} (skipped: ${reason})`, () => {})
}
