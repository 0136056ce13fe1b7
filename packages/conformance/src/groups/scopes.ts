import { describe, expect, it } from 'vitest'
import { byteOrder, rejection, setup } from '../harness.js'
import type { ConformanceTarget } from '../target.js'

/** Registers the scopes() tests for `target`. */
export function scopesGroup(target: ConformanceTarget): void {
  describe('scopes()', () => {
    it('lists direct children that hold data, in UTF-8 order, paged', async () => {
      const { cubby } = await setup(target)
      const root = cubby.scope('sc')
      const names = ['b', 'a', '😀', '\uE000', 'a/b', 'a b', 'z', '%']
      for (const name of names) await root.scope(name).set('k', 1)
      await root.scope('deep', 'er', 'est').set('k', 1) // holds data only in a grandchild
      await root.set('own', 1) // own keys are not children
      await root.scope('empty').set('k', 1)
      await root.scope('empty').delete('k')
      const expected = [...names, 'deep'].sort(byteOrder)
      expect((await root.scopes()).names).toEqual(expected)
      const paged: string[] = []
      let cursor: string | undefined
      do {
        const page = await root.scopes({ limit: 3, cursor })
        expect(page.names.length).toBeLessThanOrEqual(3)
        paged.push(...page.names)
        cursor = page.cursor
      } while (cursor)
      expect(paged).toEqual(expected)
      expect((await root.scope('deep').scopes()).names).toEqual(['er'])
      expect((await cubby.scope().scopes()).names).toEqual(['sc'])
    })

    it('forgets children emptied by clear, delete or drop', async () => {
      const { cubby } = await setup(target)
      const root = cubby.scope('sc2')
      await root.scope('a').set('k', 1)
      await root.scope('b').set('k', 1)
      await root.scope('c', 'd').set('k', 1)
      await root.scope('a').clear()
      await root.scope('b').deleteMany(['k'])
      expect((await root.scopes()).names).toEqual(['c'])
      await root.scope('c').drop()
      expect((await root.scopes()).names).toEqual([])
      expect((await root.scope('x').scopes()).names).toEqual([])
    })

    it('rejects bad options with INVALID_CONFIG', async () => {
      const { cubby } = await setup(target)
      for (const options of [{ limit: 0 }, { limit: 'x' }, { cursor: 'nope' }]) {
        expect((await rejection(cubby.scope('s').scopes(options as never))).code).toBe('INVALID_CONFIG')
      }
    })
  })
}
