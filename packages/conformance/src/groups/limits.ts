import { Codec, openCubby } from '@cubby/core'
import { describe, expect, it } from 'vitest'
import { rejection, setup } from '../harness.js'
import type { ConformanceTarget } from '../target.js'

/** Registers the limits tests for `target`. */
export function limitsGroup(target: ConformanceTarget): void {
  describe('limits', () => {
    it('accepts a value of exactly limits.maxValueBytes and rejects one byte more, writing nothing', async () => {
      const { cubby, backdoor } = await setup(target, { limits: { maxValueBytes: 1000 } })
      const store = cubby.scope('lim')
      const header = new Codec().encode(new Uint8Array(0)).byteLength
      await store.set('k', new Uint8Array(1000 - header))
      const error = await rejection(store.set('k', new Uint8Array(1001 - header)))
      expect(error.code).toBe('VALUE_TOO_LARGE')
      expect(error).toMatchObject({ size: 1001, limit: 1000 })
      expect(error.message).toContain('maxValueBytes')
      expect((await store.get<Uint8Array>('k'))!.byteLength).toBe(1000 - header)
      expect((await rejection(store.set('other', 'x'.repeat(1000)))).code).toBe('VALUE_TOO_LARGE')
      expect(await backdoor.read(['lim'], 'other')).toBeUndefined()
      expect((await rejection(store.update('k', () => 'x'.repeat(2000)))).code).toBe('VALUE_TOO_LARGE')
    })

    it('stores values up to the default 4 MiB', async () => {
      const { cubby } = await setup(target)
      const store = cubby.scope('lim-default')
      const header = new Codec().encode(new Uint8Array(0)).byteLength
      const big = new Uint8Array(4 * 1024 * 1024 - header).fill(7)
      await store.set('big', big)
      const got = await store.get<Uint8Array>('big')
      expect(got).toBeInstanceOf(Uint8Array)
      expect(Buffer.compare(got!, big)).toBe(0) // a deep toStrictEqual of 4 MiB takes seconds
      expect((await rejection(store.set('bigger', new Uint8Array(4 * 1024 * 1024)))).code).toBe('VALUE_TOO_LARGE')
    })

    it('rejects invalid limits and options at open with INVALID_CONFIG naming the field', async () => {
      const { handle } = await setup(target)
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ limits: { maxKeyBytes: 0 } }, 'limits.maxKeyBytes'],
        [{ limits: { maxValueBytes: 1.5 } }, 'limits.maxValueBytes'],
        [{ limits: { nope: 1 } }, 'limits.nope'],
        [{ timeoutMs: -1 }, 'timeoutMs'],
        [{ quotas: { plugin: { maxBytes: -5 } } }, 'quotas.plugin.maxBytes'],
        [{ quotas: { scopes: [{ path: [''], maxKeys: 1 }] } }, 'quotas.scopes[0].path'],
        [{ types: [{ name: 'cubby:x' }] }, 'types[0].name'],
      ]
      for (const [options, field] of cases) {
        const error = await rejection(openCubby({ ...options, backend: handle.backend }))
        expect(error.code, field).toBe('INVALID_CONFIG')
        expect((error as { field?: string }).field).toBe(field)
      }
      expect((await rejection(openCubby('nosuch://x'))).code).toBe('INVALID_CONFIG')
    })
  })
}
