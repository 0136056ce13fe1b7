import { describe, expect, it } from 'vitest'
import { rejection, setup } from '../harness.js'
import type { ConformanceTarget } from '../target.js'

/** Registers the versions and ifVersion tests for `target`. */
export function versionsGroup(target: ConformanceTarget): void {
  describe('versions and ifVersion', () => {
    it('gives every write a new version, never one the key had before (delete, clear, drop, peers)', async () => {
      const { cubby, peer } = await setup(target)
      const other = await peer()
      const parent = cubby.scope('ver')
      const store = parent.scope('s')
      const seen: string[] = []
      const note = async (version: string | undefined) => {
        expect(typeof version).toBe('string')
        expect(version).not.toBe('')
        seen.push(version!)
      }
      await note(await store.set('k', 1))
      await note(await store.set('k', 1))
      await store.incr('n')
      await store.delete('k')
      await note(await store.set('k', 2))
      await note(await other.scope('ver', 's').set('k', 3))
      await store.clear()
      await note(await store.set('k', 4))
      await store.update('k', () => 5)
      await note((await store.getEntry('k'))?.version)
      const committed = await store.atomic().set('k', 6).commit()
      await note(committed.ok ? committed.versions.k : undefined)
      await parent.drop()
      await note(await store.set('k', 7))
      await cubby.scope().drop()
      await note(await other.scope('ver', 's').set('k', 8))
      expect(new Set(seen).size).toBe(seen.length)
      expect((await store.getEntry('k'))?.version).toBe(seen[seen.length - 1])
    })

    it('writes with a matching ifVersion and rejects a stale one with ConflictError, writing nothing', async () => {
      const { cubby, backdoor } = await setup(target)
      const store = cubby.scope('cas')
      const v1 = await store.set('k', 'one')
      const v2 = await store.set('k', 'two', { ifVersion: v1 })
      const error = await rejection(store.set('k', 'three', { ifVersion: v1 }))
      expect(error.code).toBe('CONFLICT')
      expect(error.name).toBe('ConflictError')
      expect((error as { key?: string }).key).toBe('k')
      expect(await store.get('k')).toBe('two')
      expect((await store.getEntry('k'))?.version).toBe(v2)
      const stored = await backdoor.read(['cas'], 'k')
      expect(Buffer.from(stored!.value).toString('utf8')).toContain('two')
    })

    it('ifVersion: null writes only when the key is absent', async () => {
      const { cubby } = await setup(target)
      const store = cubby.scope('cas-null')
      await store.set('k', 1, { ifVersion: null })
      expect((await rejection(store.set('k', 2, { ifVersion: null }))).code).toBe('CONFLICT')
      expect(await store.get('k')).toBe(1)
    })

    it('delete honours ifVersion', async () => {
      const { cubby } = await setup(target)
      const store = cubby.scope('cas-del')
      const v1 = await store.set('k', 1)
      await store.set('k', 2)
      expect((await rejection(store.delete('k', { ifVersion: v1 }))).code).toBe('CONFLICT')
      expect(await store.get('k')).toBe(2)
      expect((await rejection(store.delete('k', { ifVersion: null }))).code).toBe('CONFLICT')
      const current = (await store.getEntry('k'))!.version
      expect(await store.delete('k', { ifVersion: current })).toBe(true)
      expect(await store.delete('k', { ifVersion: null })).toBe(false)
      expect((await rejection(store.delete('k', { ifVersion: current }))).code).toBe('CONFLICT')
    })

    it('rejects malformed versions with INVALID_CONFIG', async () => {
      const { cubby } = await setup(target)
      const store = cubby.scope('cas-bad')
      for (const bad of ['', 5, {}]) {
        expect((await rejection(store.set('k', 1, { ifVersion: bad as string }))).code).toBe('INVALID_CONFIG')
        expect(
          (
            await rejection(
              store
                .atomic()
                .check('k', bad as string)
                .commit(),
            )
          ).code,
        ).toBe('INVALID_CONFIG')
      }
    })
  })
}
