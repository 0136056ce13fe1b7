/**
 * `@cubby/backend-memory`: the in-process Cubby backend. `openCubby('memory:')` loads it; each open is a new, empty
 * store.
 */
import { type BackendFactory, InvalidConfigError } from '@cubby/core/backend'
import { MemoryBackend, type MemoryBackendOptions } from './memory-backend.js'

export { MemoryBackend, type MemoryBackendOptions } from './memory-backend.js'

/** Creates a memory backend from `openCubby` input. The only option is `sweepIntervalMs`. */
export const createBackend: BackendFactory = async ({ url, options, clock }) => {
  // The scheme is case-insensitive (as the registry that chose this package treats it); nothing may follow it.
  if (url !== undefined && !/^memory:(\/\/)?$/i.test(url)) {
    throw new InvalidConfigError('url', `memory URLs take no path or host; use "memory:" (got ${JSON.stringify(url)})`)
  }
  const config: MemoryBackendOptions = { clock }
  for (const [name, value] of Object.entries(options)) {
    if (name !== 'sweepIntervalMs')
      throw new InvalidConfigError(name, 'is not an option of the memory backend (known: sweepIntervalMs)')
    if (value === undefined) continue
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw new InvalidConfigError('sweepIntervalMs', 'must be a positive integer of milliseconds')
    }
    config.sweepIntervalMs = value
  }
  return new MemoryBackend(config)
}
