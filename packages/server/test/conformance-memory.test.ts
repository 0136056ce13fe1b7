import { MemoryBackend } from '@cubby/backend-memory'
import { peek, physicalCount } from '@cubby/backend-memory/testing'
import { runConformance } from '@cubby/conformance'
import { remoteHandle } from './conformance-support.js'

await runConformance({
  name: 'remote -> memory',
  create: async ({ clock }) => {
    const backend = new MemoryBackend({ clock, sweepIntervalMs: 50 })
    return remoteHandle(backend, clock, {
      read: async (scope, key) => peek(backend, scope, key),
      count: async (scope) => physicalCount(backend, scope),
    })
  },
})
