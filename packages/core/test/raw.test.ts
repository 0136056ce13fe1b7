import { Codec, openCubby } from '@cubby/core'
import { rawScope, rawScopeAt } from '@cubby/core/raw'
import { describe, expect, it } from 'vitest'

const codec = new Codec()
const bytes = (value: unknown) => codec.encode(value)

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string; field?: string }> {
  try {
    await promise
  } catch (error) {
    return error as Error & { code?: string }
  }
  throw new Error('expected a rejection')
}

describe('@cubby/core/raw', () => {
  it('reads and writes encoded bytes through the engine, with the cubby’s clock', async () => {
    let now = 1_000_000
    const cubby = await openCubby({ url: 'memory:', clock: () => now })
    const view = cubby.scope('w', 'p').user('ann')
    const raw = rawScope(view)
    expect(raw.path).toEqual(['w', 'p', '', 'ann'])
    expect(raw.now()).toBe(now)
    const result = await raw.write({
      ops: [
        { type: 'set', key: 'a', value: bytes({ x: 1 }) },
        { type: 'set', key: 'b', value: bytes('v'), expiresAt: now + 10 },
        { type: 'incr', key: 'n', by: 2 },
      ],
    })
    expect(result.ok).toBe(true)
    expect(await view.get('a')).toEqual({ x: 1 })
    const [a, b, missing] = await raw.get(['a', 'b', 'zz'])
    expect(Buffer.from(a!.value!)).toEqual(bytes({ x: 1 }))
    expect(b!.expiresAt).toBe(now + 10)
    expect(missing).toBeUndefined()
    expect((await raw.list({ reverse: false, limit: 10, values: false })).map((e) => e.key)).toEqual(['a', 'b', 'n'])
    now += 10
    expect(await view.has('b')).toBe(false)
    expect((await raw.write({ checks: [{ key: 'a', version: 'nope' }], ops: [] })).ok).toBe(false)
    expect(await raw.usage()).toEqual(await view.usage())
    // The plugin's raw scopes() shows the user level, which KVStore.scopes() hides.
    await cubby.scope('w', 'p', 'sub').set('k', 1)
    expect(await rawScope(cubby.scope('w', 'p')).scopes({ limit: 10 })).toEqual(['', 'sub'])
    expect(await rawScopeAt(cubby, ['w', 'p', '']).scopes({ limit: 10 })).toEqual(['ann'])
    expect((await cubby.scope('w', 'p').scopes()).names).toEqual(['sub'])
    await cubby.close()
  })

  it('applies the cubby’s limits and quotas, and validates everything it is given', async () => {
    const cubby = await openCubby({
      url: 'memory:',
      limits: { maxValueBytes: 64, maxBatchSize: 3 },
      quotas: { user: { maxKeys: 1 } },
    })
    const raw = rawScope(cubby.stores({ plugin: 'p', user: 'u' }).user!)
    await raw.write({ ops: [{ type: 'set', key: 'a', value: bytes(1) }] })
    expect((await rejection(raw.write({ ops: [{ type: 'set', key: 'b', value: bytes(2) }] }))).code).toBe(
      'QUOTA_EXCEEDED',
    )
    const bad: unknown[] = [
      { ops: [{ type: 'set', key: '', value: bytes(1) }] },
      { ops: [{ type: 'set', key: '\uD800', value: bytes(1) }] },
      { ops: [{ type: 'set', key: 'a', value: 'not bytes' }] },
      { ops: [{ type: 'set', key: 'a', value: bytes(1), expiresAt: 1.5 }] },
      { ops: [{ type: 'set', key: 'a', value: bytes(1), expiresAt: 9e15 }] },
      { ops: [{ type: 'incr', key: 'a', by: Number.NaN }] },
      { ops: [{ type: 'drop', key: 'a' }] },
      { ops: [] },
      { ops: [{ type: 'delete', key: 'a' }], checks: [{ key: 'a', version: '' }] },
      { ops: Array.from({ length: 4 }, (_, i) => ({ type: 'delete', key: `k${i}` })) },
    ]
    for (const request of bad) {
      expect((await rejection(raw.write(request as never))).code, JSON.stringify(request)).toMatch(/INVALID_/)
    }
    expect((await rejection(raw.write({ ops: [{ type: 'set', key: 'a', value: new Uint8Array(65) }] }))).code).toBe(
      'VALUE_TOO_LARGE',
    )
    expect((await rejection(raw.get([]))).code).toBe('INVALID_CONFIG')
    expect((await rejection(raw.get(['']))).code).toBe('INVALID_KEY')
    expect((await rejection(raw.list({ reverse: false, limit: 0, values: true }))).code).toBe('INVALID_CONFIG')
    expect((await rejection(raw.list({ reverse: false, limit: 5, values: true, after: '' }))).code).toBe(
      'INVALID_CONFIG',
    )
    expect((await rejection(raw.scopes({ limit: 0 }))).code).toBe('INVALID_CONFIG')
    await cubby.close()
  })

  it('refuses undecodable bytes when asked to verify values, and passes them through otherwise', async () => {
    const cubby = await openCubby('memory:')
    const garbage = new Uint8Array([0x01, 0x6a, 0x7b])
    const strict = rawScope(cubby.scope('s'), { verifyValues: true })
    expect((await rejection(strict.write({ ops: [{ type: 'set', key: 'g', value: garbage }] }))).code).toBe(
      'INVALID_VALUE',
    )
    expect(await cubby.scope('s').has('g')).toBe(false)
    await rawScope(cubby.scope('s')).write({ ops: [{ type: 'set', key: 'g', value: garbage }] })
    expect(await cubby.scope('s').has('g')).toBe(true)
    await cubby.close()
  })

  it('accepts only storage paths, views of this core, and refuses calls once closed', async () => {
    const cubby = await openCubby('memory:')
    for (const path of [[''], ['w', ''], ['', 'p', 'x', 'u'], ['w', 'p', 'x', '']]) {
      expect(() => rawScopeAt(cubby, path)).toThrow(/empty segment/)
    }
    // The user level itself may be walked (its children are the users) but holds no keys.
    const level = rawScopeAt(cubby, ['w', 'p', ''])
    expect((await rejection(level.write({ ops: [{ type: 'delete', key: 'k' }] }))).code).toBe('INVALID_SCOPE')
    expect(() => rawScopeAt(cubby, ['1', '2', '3', '4', '5', '6', '7', '8', '9'])).toThrow(/at most 8/)
    expect(() => rawScopeAt(cubby, ['w', 'p', '', 'u', '4', '5', '6', '7', '8'])).not.toThrow()
    expect(() => rawScope({} as never)).toThrow(/view/)
    const { store } = await import('@cubby/core')
    expect(() => rawScope(store)).toThrow(/ambient/)
    const raw = rawScope(cubby.scope('x'))
    await cubby.close()
    expect((await rejection(raw.get(['k']))).code).toBe('CLOSED')
  })
})
