import { MemoryBackend } from '@cubby/backend-memory'
import { peek, physicalCount } from '@cubby/backend-memory/testing'
import { runConformance, sharedBackend } from '@cubby/conformance'

await runConformance({
  name: 'memory',
  create: async ({ clock }) => {
    const backend = new MemoryBackend({ clock, sweepIntervalMs: 50 })
    return {
      backend,
      // Another host instance in this process shares the same in-process storage.
      peer: async () => sharedBackend(backend),
      backdoor: {
        read: async (scope, key) => peek(backend, scope, key),
        count: async (scope) => physicalCount(backend, scope),
      },
    }
  },
})
