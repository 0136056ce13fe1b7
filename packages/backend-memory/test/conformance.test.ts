import { MemoryBackend } from '@cubby/backend-memory'
import { runConformance } from '@cubby/conformance'
import type { Backend } from '@cubby/core'

/** A second handle on the same in-process storage: what another host instance in this process would share. */
function sharing(backend: MemoryBackend): Backend {
  return new Proxy(backend, {
    get(object, property, receiver) {
      if (property === 'close') return async () => {}
      const value = Reflect.get(object, property, receiver)
      return typeof value === 'function' ? value.bind(object) : value
    },
  })
}

await runConformance({
  name: 'memory',
  create: async ({ clock }) => {
    const backend = new MemoryBackend({ clock, sweepIntervalMs: 50 })
    return {
      backend,
      peer: async () => sharing(backend),
      backdoor: {
        read: async (scope, key) => backend.peek(scope, key),
        count: async (scope) => backend.physicalCount(scope),
      },
    }
  },
})
