import { describe, expect, it } from 'vitest'
import type { Backend, WatchSink } from '../src/backend/contract.js'
import { incrSum } from '../src/backend/helpers.js'
import { openCubby } from '../src/index.js'
import type { KVStore } from '../src/types.js'

/** The error a promise rejected with. */
async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string; field?: string }> {
  try {
    await promise
  } catch (error) {
    return error as Error & { code?: string; field?: string }
  }
  throw new Error('expected a rejection')
}

/** The error `fn` throws. */
function thrown(fn: () => unknown): Error & { code?: string; field?: string } {
  try {
    fn()
  } catch (error) {
    return error as Error & { code?: string; field?: string }
  }
  throw new Error('expected a throw')
}

/** A backend that answers nothing but what a test overrides. */
function stub(overrides: Partial<Backend> = {}): Backend {
  return {
    name: 'stub',
    capabilities: { ttl: true, watch: true, quotas: true, persistent: false, minQuotaDepth: 0, timeouts: false },
    get: async (_scope, keys) => keys.map(() => undefined),
    write: async (request) => ({ ok: true, results: request.ops.map(() => ({ existed: false, version: 'v1' })) }),
    list: async () => [],
    clear: async () => 0,
    drop: async () => {},
    scopes: async () => [],
    usage: async () => ({ keys: 0, bytes: 0 }),
    watch: () => ({ ready: Promise.resolve(), close() {} }),
    close: async () => {},
    ...overrides,
  }
}

describe('keys and segments that are not strings', () => {
  it('are INVALID_KEY / INVALID_SCOPE even when String() on them throws', async () => {
    const cubby = await openCubby('memory:')
    const s = cubby.scope('s')
    const hostile = [
      Object.create(null),
      {
        toString: () => {
          throw new Error('no')
        },
      },
      Symbol('k'),
    ]
    for (const key of hostile) {
      const error = await rejection(s.get(key))
      expect(error).toMatchObject({ code: 'INVALID_KEY' })
      expect(error.message).toMatch(/must be a string/)
      expect(thrown(() => cubby.scope(key)).code).toBe('INVALID_SCOPE')
      expect((await rejection(s.watch({ keys: [key] }).ready)).code).toBe('INVALID_KEY')
    }
    await cubby.close()
  })
})

describe('call options', () => {
  it('refuses unknown options, naming the field and the known ones', async () => {
    const cubby = await openCubby('memory:')
    const s = cubby.scope('s')
    const stale = await s.set('k', 1)
    await s.set('k', 2)
    const error = await rejection(s.set('k', 3, { ifVerison: stale } as never))
    expect(error).toMatchObject({ code: 'INVALID_CONFIG', field: 'set.ifVerison' })
    expect(error.message).toContain('known: ttl, ifVersion')
    expect(await s.get('k')).toBe(2)
    expect((await rejection(s.set('k', 3, [] as never))).field).toBe('set.options')
    await cubby.close()
  })

  it('caps ttl at the latest time a Date can hold', async () => {
    const cubby = await openCubby('memory:')
    for (const ttl of [Number.MAX_VALUE, 1e300, 2 ** 60]) {
      expect(await rejection(cubby.scope('s').set('k', 1, { ttl }))).toMatchObject({ field: 'set.ttl' })
    }
    await cubby.scope('s').set('k', 1, { ttl: 100 * 365 * 24 * 3600 * 1000 }) // a century is fine
    await cubby.close()
  })

  it('checks bounds and cursors like keys, and binds cursors to their scope', async () => {
    const cubby = await openCubby({ url: 'memory:', limits: { maxKeyBytes: 8 } })
    const a = cubby.scope('a')
    await a.setMany({ k1: 1, k2: 2, k3: 3 })
    await cubby.scope('b').setMany({ k1: 1, k2: 2 })
    const { cursor } = await a.list({ limit: 1 })
    expect((await a.list({ cursor })).entries.map((e) => e.key)).toEqual(['k2', 'k3'])
    expect((await rejection(cubby.scope('b').list({ cursor }))).field).toBe('list.cursor')
    expect((await rejection(a.list({ prefix: 'p'.repeat(9) }))).field).toBe('list.prefix')
    expect((await rejection(a.watch({ prefix: '\uD800' }).ready)).field).toBe('watch.prefix')
    expect((await rejection(a.list({ cursor: 'x'.repeat(100_000) }))).field).toBe('list.cursor')
    await cubby.close()
  })

  it('counts setMany entries while reading them, so an endless iterable fails at maxBatchSize + 1', async () => {
    const cubby = await openCubby({ url: 'memory:', limits: { maxBatchSize: 3 } })
    let produced = 0
    const endless = (function* () {
      for (;;) yield [`k${produced++}`, 1] as const
    })()
    expect((await rejection(cubby.scope('s').setMany(endless))).code).toBe('INVALID_CONFIG')
    expect(produced).toBe(4)
    await cubby.close()
  })
})

describe('configuration edge cases', () => {
  it('refuses null, empty quotas, a null workspace and unknown context fields', async () => {
    expect((await rejection(openCubby(null as never))).code).toBe('INVALID_CONFIG')
    expect((await rejection(openCubby({ url: 'memory:', quotas: { plugin: {} } }))).field).toBe('quotas.plugin')
    const noLimit = await rejection(openCubby({ url: 'memory:', quotas: { scopes: [{ path: ['a'] }] } }))
    expect(noLimit.field).toBe('quotas.scopes[0]')
    const cubby = await openCubby('MEMORY:') // schemes are case-insensitive
    expect(thrown(() => cubby.stores({ workspace: null as never, plugin: 'p' })).code).toBe('INVALID_SCOPE')
    expect(thrown(() => cubby.run({ plugin: 'p', usr: 'u' } as never, () => 1)).field).toBe('context.usr')
    await cubby.close()
  })

  it('tolerates a backend method that returns a plain value', async () => {
    const cubby = await openCubby({
      backend: stub({ get: ((_s: unknown, keys: string[]) => keys.map(() => undefined)) as never }),
    })
    expect(await cubby.scope('s').get('k')).toBeUndefined()
    await cubby.close()
  })
})

describe('the hot calls (set, get, has, getEntry, getMany, setMany, delete, incr)', () => {
  const calls = (store: KVStore, key: unknown) => [
    store.set(key as string, 1),
    store.get(key as string),
    store.get(key as string, 'fallback'),
    store.has(key as string),
    store.getEntry(key as string),
    store.getMany([key as string]),
    store.setMany([[key as string, 1]]),
    store.delete(key as string),
    store.incr(key as string),
  ]

  it('reject, never throw, for bad arguments, a closed cubby and a backend that throws at once', async () => {
    const boom = () => {
      throw new TypeError('boom')
    }
    const cubby = await openCubby({ backend: stub({ get: boom, write: boom }) })
    const store = cubby.scope('s')
    for (const call of calls(store, 7)) expect((await rejection(call)).code).toBe('INVALID_KEY')
    for (const call of calls(store, 'k')) expect((await rejection(call)).code).toBe('BACKEND')
    await cubby.close()
    for (const call of calls(store, 'k')) expect((await rejection(call)).code).toBe('CLOSED')
  })

  it('map what the backend rejects with, but not what they throw on its answer', async () => {
    const cubby = await openCubby({
      backend: stub({
        get: async () => Promise.reject(new Error('down')),
        write: async () => ({ ok: false }),
      }),
    })
    const store = cubby.scope('s')
    for (const call of [store.get('k'), store.get('k', 1), store.getMany(['k']), store.has('k')]) {
      expect((await rejection(call)).code).toBe('BACKEND')
    }
    for (const call of [store.set('k', 1), store.delete('k'), store.incr('k')]) {
      expect((await rejection(call)).code).toBe('CONFLICT')
    }
    await cubby.close()
  })
})

describe('backend waits', () => {
  it('hands getMany a copy of the keys, so the caller may reuse its array at once', async () => {
    let received: readonly string[] | undefined
    const backend = stub({
      get: (_scope, keys) => {
        received = keys
        return new Promise((resolve) => setImmediate(() => resolve(keys.map(() => undefined))))
      },
    })
    const cubby = await openCubby({ backend })
    const keys = ['a', 'b']
    const pending = cubby.scope('s').getMany(keys)
    keys.push('c')
    expect(received).toEqual(['a', 'b'])
    expect(received).not.toBe(keys)
    expect(await pending).toEqual([undefined, undefined])
    await cubby.close()
  })

  it('closes a subscription whose backend reported an error before watch() returned', async () => {
    let closed = 0
    const backend = stub({
      watch: (_scope, sink: WatchSink) => {
        sink.error(new Error('lost the feed'))
        return { ready: Promise.resolve(), close: () => void closed++ }
      },
    })
    const cubby = await openCubby({ backend })
    const watch = cubby.scope('s').watch()
    const error = await rejection(watch[Symbol.asyncIterator]().next())
    expect(error.code).toBe('BACKEND')
    expect(error.message).toContain('lost the feed')
    expect(closed).toBe(1)
    await cubby.close()
    expect(closed).toBe(1)
  })

  it('closes a backend that a factory delivers after the open timed out', async () => {
    let closed = false
    let deliver: (backend: Backend) => void = () => {}
    const late = new Promise<Backend>((resolve) => {
      deliver = resolve
    })
    const error = await rejection(openCubby({ backend: () => late, timeoutMs: 50 }))
    expect(error.code).toBe('BACKEND')
    deliver(
      stub({
        close: async () => {
          closed = true
        },
      }),
    )
    await new Promise((resolve) => setImmediate(resolve))
    expect(closed).toBe(true)
  })
})

describe('incrSum', () => {
  it('adds, refusing non-finite sums and integer sums past MAX_SAFE_INTEGER', () => {
    expect(incrSum('k', 1, 2)).toBe(3)
    expect(incrSum('k', 0.1, 0.2)).toBe(0.1 + 0.2)
    expect(incrSum('k', Number.MAX_SAFE_INTEGER - 1, 1)).toBe(Number.MAX_SAFE_INTEGER)
    for (const [current, by] of [
      [Number.MAX_VALUE, Number.MAX_VALUE],
      [Number.NaN, 1],
      [Number.POSITIVE_INFINITY, -1],
      [Number.MAX_SAFE_INTEGER, 1],
      [Number.MIN_SAFE_INTEGER, -1],
      [2 ** 60, 1],
    ] as const) {
      expect(() => incrSum('k', current, by)).toThrow(expect.objectContaining({ code: 'INVALID_VALUE' }))
    }
  })
})
