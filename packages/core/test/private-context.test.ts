import { describe, expect, it } from 'vitest'
import { openCubby } from '../src/index.js'

/**
 * Every object reachable from `root` through own properties (string and symbol keys, enumerable or not), as plugin
 * code could reach it with `Reflect.ownKeys` and property reads; functions are not entered (their closures are not
 * reachable that way).
 */
function reachable(root: object, depth = 4): Set<object> {
  const seen = new Set<object>()
  const visit = (value: unknown, left: number) => {
    if (typeof value !== 'object' || value === null || seen.has(value) || left < 0) return
    seen.add(value)
    for (const key of Reflect.ownKeys(value)) {
      const descriptor = Object.getOwnPropertyDescriptor(value, key)
      if (descriptor && 'value' in descriptor) visit(descriptor.value, left - 1)
    }
  }
  visit(root, depth)
  return seen
}

describe('what a plugin holds', () => {
  it('a view, an atomic batch and a watch expose no path to the engine, the backend or the context caches', async () => {
    const cubby = await openCubby({ url: 'memory:' })
    try {
      const view = cubby.stores({ workspace: 'w', plugin: 'p', user: 'u' })
      const batch = view.store.atomic()
      const watch = view.user!.watch()
      await watch.ready
      for (const held of [view, view.store, view.user!, view.store.scope('s'), batch, watch]) {
        for (const object of reachable(held)) {
          // A ScopeContext carries `engine`; the engine carries `backend` and the caches.
          expect(Reflect.ownKeys(object)).not.toContain('engine')
          expect(Reflect.ownKeys(object)).not.toContain('backend')
          expect(Reflect.ownKeys(object)).not.toContain('scopeChildren')
        }
      }
      watch.close()
    } finally {
      await cubby.close()
    }
  })
})
