import { store as ambientStore, CubbyError, openCubby } from '@cubby/core'
import { describe, expect, it } from 'vitest'
import { sharedBackend as altered, mustReturnPromise, rejection, setup, thrown } from '../harness.js'
import type { ConformanceTarget } from '../target.js'

/** Registers the errors and close tests for `target`. */
export function errorsGroup(target: ConformanceTarget): void {
  describe('errors', () => {
    it('every promise-returning call rejects instead of throwing, with a CubbyError', async () => {
      const { cubby } = await setup(target)
      const store = cubby.scope('sync')
      const bad = undefined as unknown as string
      const calls: Array<[string, () => Promise<unknown>]> = [
        ['get', () => store.get(bad)],
        ['getEntry', () => store.getEntry(bad)],
        ['has', () => store.has(bad)],
        ['set', () => store.set(bad, 1)],
        ['set options', () => store.set('k', 1, 5 as never)],
        ['delete', () => store.delete(bad)],
        ['update', () => store.update('k', 5 as never)],
        ['incr', () => store.incr('k', 'x' as never)],
        ['getMany', () => store.getMany(5 as never)],
        ['setMany', () => store.setMany(5 as never)],
        ['deleteMany', () => store.deleteMany(5 as never)],
        ['list', () => store.list({ limit: -1 })],
        ['scopes', () => store.scopes({ limit: -1 })],
        ['atomic', () => store.atomic().set(bad, 1).commit()],
        ['entries', () => store.entries({ limit: -1 }).next()],
        ['keys', () => store.keys({ pageSize: 0 }).next()],
      ]
      for (const [name, call] of calls) {
        const error = await rejection(mustReturnPromise(call, name))
        expect(error, name).toBeInstanceOf(CubbyError)
        expect(error.message.length, name).toBeGreaterThan(15)
      }
    })

    it('gives each failure its stable code', async () => {
      const { cubby } = await setup(target, { limits: { maxValueBytes: 100 } })
      const store = cubby.scope('codes')
      const version = await store.set('k', 1)
      await store.set('k', 2)
      const codes: Array<[string, () => Promise<unknown>]> = [
        ['INVALID_KEY', () => store.get('')],
        ['INVALID_VALUE', () => store.set('k', Symbol('x'))],
        ['VALUE_TOO_LARGE', () => store.set('k', 'x'.repeat(200))],
        ['CONFLICT', () => store.set('k', 3, { ifVersion: version })],
        ['NO_CONTEXT', () => ambientStore.get('k')],
        ['INVALID_CONFIG', () => store.list({ limit: 0 })],
      ]
      for (const [code, call] of codes) {
        const error = await rejection(call())
        expect(error.code).toBe(code)
        expect(error).toBeInstanceOf(CubbyError)
      }
      const scopeError = thrown(() => cubby.scope(''))
      expect(scopeError.code).toBe('INVALID_SCOPE')
      expect(scopeError).toBeInstanceOf(CubbyError)
    })

    it('fails a call the backend does not answer with BACKEND within timeoutMs', async () => {
      const { handle } = await setup(target)
      const capabilities = { ...handle.backend.capabilities, timeouts: false }
      const hanging = altered(handle.backend, { get: () => new Promise(() => {}), capabilities })
      const cubby = await openCubby({ backend: hanging, timeoutMs: 300 })
      const started = Date.now()
      const error = await rejection(cubby.scope('t').get('k'))
      expect(error.code).toBe('BACKEND')
      expect(error.message).toMatch(/300 ms/)
      expect(Date.now() - started).toBeLessThan(5000)
      await cubby.scope('t').set('k', 1) // other calls still work
      await cubby.close()
    })

    it('bounds watch().ready, close() and opening by timeoutMs when the backend does not (timeouts: false)', async () => {
      const { handle } = await setup(target)
      const capabilities = { ...handle.backend.capabilities, timeouts: false, watch: true }
      let subscriptionsClosed = 0
      const hanging = altered(handle.backend, {
        capabilities,
        watch: () => ({ ready: new Promise(() => {}), close: () => void subscriptionsClosed++ }),
        close: () => new Promise(() => {}),
      })
      const cubby = await openCubby({ backend: hanging, timeoutMs: 300 })
      const watch = cubby.scope('t').watch()
      const notReady = await rejection(watch.ready)
      expect(notReady.code).toBe('BACKEND')
      expect(notReady.message).toMatch(/300 ms/)
      expect((await rejection(watch[Symbol.asyncIterator]().next())).code).toBe('BACKEND')
      expect(subscriptionsClosed).toBe(1)
      const notClosed = await rejection(cubby.close())
      expect(notClosed.code).toBe('BACKEND')
      expect(notClosed.message).toMatch(/clos/)
      const factory = () => new Promise<never>(() => {})
      const notOpened = await rejection(openCubby({ backend: factory, timeoutMs: 300 }))
      expect(notOpened.code).toBe('BACKEND')
      expect(notOpened.message).toMatch(/300 ms/)
    })

    it('rejects an unknown call option (a typo) with INVALID_CONFIG naming it, writing nothing', async () => {
      const { cubby, backdoor } = await setup(target)
      const store = cubby.scope('typos')
      const stale = await store.set('k', 1)
      await store.set('k', 2)
      const typo = { ifVerison: stale } as never
      const calls: Array<[string, string, () => Promise<unknown>]> = [
        ['set', 'set.ifVerison', () => store.set('k', 3, typo)],
        ['set ttl', 'set.ttL', () => store.set('t', 1, { ttL: 10 } as never)],
        ['delete', 'delete.ifVerison', () => store.delete('k', typo)],
        ['update', 'update.maxRetry', () => store.update('k', () => 4, { maxRetry: 1 } as never)],
        ['incr', 'incr.tll', () => store.incr('n', 1, { tll: 5 } as never)],
        ['setMany', 'setMany.ttL', () => store.setMany({ a: 1 }, { ttL: 5 } as never)],
        [
          'atomic set',
          'atomic.set.ttL',
          () =>
            store
              .atomic()
              .set('a', 1, { ttL: 5 } as never)
              .commit(),
        ],
        [
          'atomic incr',
          'atomic.incr.tl',
          () =>
            store
              .atomic()
              .incr('a', 1, { tl: 5 } as never)
              .commit(),
        ],
        ['list', 'list.prefx', () => store.list({ prefx: 'k' } as never)],
        ['entries', 'entries.pageSise', () => store.entries({ pageSise: 2 } as never).next()],
        ['scopes', 'scopes.limt', () => store.scopes({ limt: 2 } as never)],
      ]
      for (const [name, field, call] of calls) {
        const error = await rejection(call())
        expect(error.code, name).toBe('INVALID_CONFIG')
        expect((error as { field?: string }).field, name).toBe(field)
        expect(error.message, name).toMatch(/known: /)
      }
      const watch = store.watch({ prefx: 'k' } as never)
      expect(await rejection(watch.ready)).toMatchObject({ code: 'INVALID_CONFIG', field: 'watch.prefx' })
      expect(await store.get('k')).toBe(2)
      expect(await backdoor.count(['typos'])).toBe(1)
    })

    it('wraps a driver failure in BackendError with the cause', async () => {
      const { handle } = await setup(target)
      const cause = new Error('disk on fire')
      const failing = altered(handle.backend, { list: () => Promise.reject(cause) })
      const cubby = await openCubby({ backend: failing })
      const error = await rejection(cubby.scope('t').list())
      expect(error.code).toBe('BACKEND')
      expect(error.name).toBe('BackendError')
      expect((error as { cause?: unknown }).cause).toBe(cause)
      expect(error.message).toContain('disk on fire')
      await cubby.close()
    })

    it('reports a capability the backend lacks as UNSUPPORTED', async () => {
      const { handle } = await setup(target)
      const capabilities = { ...handle.backend.capabilities, ttl: false, watch: false, quotas: false }
      const limited = altered(handle.backend, { capabilities })
      const cubby = await openCubby({ backend: limited })
      const store = cubby.scope('caps')
      expect((await rejection(store.set('k', 1, { ttl: 10 }))).code).toBe('UNSUPPORTED')
      expect((await rejection(store.usage())).code).toBe('UNSUPPORTED')
      const watch = store.watch()
      expect((await rejection(watch.ready)).code).toBe('UNSUPPORTED')
      expect((await rejection(watch[Symbol.asyncIterator]().next())).code).toBe('UNSUPPORTED')
      expect((await rejection(openCubby({ backend: limited, quotas: { user: { maxKeys: 1 } } }))).code).toBe(
        'INVALID_CONFIG',
      )
      await cubby.close()
    })
  })

  describe('close', () => {
    it('lets calls in flight finish, then rejects every call with CLOSED', async () => {
      const { cubby, backdoor } = await setup(target)
      const store = cubby.scope('closing')
      const writes = Array.from({ length: 50 }, (_, i) => store.set(`k${i}`, i))
      const closing = cubby.close()
      await Promise.all(writes)
      await closing
      await cubby.close() // idempotent
      expect(cubby.closed).toBe(true)
      expect(await backdoor.count(['closing'])).toBe(50)
      const calls: Array<() => Promise<unknown>> = [
        () => store.get('k0'),
        () => store.set('k', 1),
        () => store.list(),
        () => store.incr('n'),
        () => store.update('k', () => 1),
        () => store.atomic().set('a', 1).commit(),
        () => store.clear(),
        () => store.drop(),
        () => store.scopes(),
        () => store.getMany(['a']),
        () => store.keys().next(),
      ]
      for (const call of calls) expect((await rejection(mustReturnPromise(call, 'after close'))).code).toBe('CLOSED')
      const watch = store.watch()
      expect((await rejection(watch.ready)).code).toBe('CLOSED')
    })
  })
}
