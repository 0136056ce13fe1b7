import { describe, expect, it } from 'vitest'
import { setup } from '../harness.js'
import { entrySize, usageOf } from '../sizes.js'
import type { ConformanceTarget } from '../target.js'

/** Registers the usage() tests for `target`. */
export function usageGroup(target: ConformanceTarget): void {
  describe('usage()', () => {
    it('counts a scope and its descendants exactly, and nothing beside them', async () => {
      const { cubby } = await setup(target)
      const a = cubby.scope('u', 'a')
      await a.setMany({ one: 1, two: 'two' })
      await a.scope('child').set('x', { deep: true })
      await a.scope('child', 'grand').set('😀', new Uint8Array(100))
      await cubby.scope('u', 'ab').set('sibling', 'x'.repeat(500)) // shares a prefix, is not a descendant
      const own = usageOf({ one: 1, two: 'two' })
      const child = usageOf({ x: { deep: true } })
      const grand = usageOf({ '😀': new Uint8Array(100) })
      expect(await a.scope('child', 'grand').usage()).toEqual(grand)
      expect(await a.scope('child').usage()).toEqual({ keys: 2, bytes: child.bytes + grand.bytes })
      expect(await a.usage()).toEqual({ keys: 4, bytes: own.bytes + child.bytes + grand.bytes })
      const sibling = entrySize('sibling', 'x'.repeat(500))
      expect(await cubby.scope('u').usage()).toEqual({
        keys: 5,
        bytes: own.bytes + child.bytes + grand.bytes + sibling,
      })
      expect(await cubby.scope().usage()).toEqual(await cubby.scope('u').usage())
      expect(await cubby.scope('nothing').usage()).toEqual({ keys: 0, bytes: 0 })
    })

    it('follows overwrites, deletes, incr, clear, drop and expiry', async () => {
      const { cubby, clock } = await setup(target)
      const store = cubby.scope('uf')
      await store.set('k', 'short')
      await store.set('k', 'much longer value')
      expect(await store.usage()).toEqual(usageOf({ k: 'much longer value' }))
      await store.set('n', 9)
      await store.incr('n')
      expect(await store.usage()).toEqual(usageOf({ k: 'much longer value', n: 10 }))
      await store.delete('k')
      expect(await store.usage()).toEqual(usageOf({ n: 10 }))
      await store.set('t', 'temp', { ttl: 100 })
      expect(await store.usage()).toEqual(usageOf({ n: 10, t: 'temp' }))
      clock.advance(100)
      expect(await store.usage()).toEqual(usageOf({ n: 10 }))
      await store.scope('c').set('x', 1)
      await store.clear()
      expect(await store.usage()).toEqual(usageOf({ x: 1 }))
      await store.drop()
      expect(await store.usage()).toEqual({ keys: 0, bytes: 0 })
    })
  })
}
