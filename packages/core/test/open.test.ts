import { describe, expect, it } from 'vitest'
import { DEFAULT_URL, openCubby } from '../src/index.js'
import { Quotas } from '../src/quotas.js'
import { loadPackage, schemeOf } from '../src/registry.js'

describe('openCubby', () => {
  it('names the package to install for a scheme whose backend is missing', async () => {
    const error = await loadPackage('@cubby/backend-nonexistent', 'nope:').catch((e: Error & { code?: string }) => e)
    expect(error).toMatchObject({ code: 'INVALID_CONFIG', field: 'url' })
    expect((error as Error).message).toContain('npm install @cubby/backend-nonexistent')
  })

  it('rejects unknown schemes, bad URLs and unknown backend options, naming the field', async () => {
    expect(() => schemeOf('mysql://x')).toThrow(/unknown scheme "mysql:"/)
    expect(() => schemeOf('./data/file.db')).toThrow(/no scheme/)
    await expect(openCubby('memory://host/path')).rejects.toMatchObject({ code: 'INVALID_CONFIG', field: 'url' })
    await expect(openCubby({ url: 'memory:', colour: 'blue' })).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      field: 'colour',
    })
    await expect(openCubby({ url: 'memory:', timeoutMs: 0 })).rejects.toMatchObject({ field: 'timeoutMs' })
    await expect(openCubby(42 as never)).rejects.toMatchObject({ code: 'INVALID_CONFIG' })
  })

  it('uses CUBBY_URL, then the SQLite default', async () => {
    expect(DEFAULT_URL).toBe('sqlite:./data/cubby.db')
    const saved = process.env.CUBBY_URL
    process.env.CUBBY_URL = 'memory:'
    try {
      const cubby = await openCubby()
      expect(cubby.backend.name).toBe('memory')
      await cubby.close()
    } finally {
      if (saved === undefined) delete process.env.CUBBY_URL
      else process.env.CUBBY_URL = saved
    }
  })

  it('gives each openCubby("memory:") a new, empty store', async () => {
    const a = await openCubby('memory:')
    const b = await openCubby('memory:')
    await a.scope('s').set('k', 1)
    expect(await b.scope('s').get('k')).toBeUndefined()
    await Promise.all([a.close(), b.close()])
  })
})

describe('quota rules', () => {
  it('apply positionally for plugins and users, and by path for explicit caps', () => {
    const quotas = Quotas.from(
      { plugin: { maxKeys: 10 }, user: { maxBytes: 5 }, scopes: [{ path: ['w'], maxKeys: 100 }] },
      1024,
      0,
    )
    expect(quotas.rulesFor([])).toEqual([])
    expect(quotas.rulesFor(['w'])).toEqual([{ scope: ['w'], maxKeys: 100 }])
    expect(quotas.rulesFor(['w', 'p', '', 'u', 'x'])).toEqual([
      { scope: ['w', 'p'], maxKeys: 10 },
      { scope: ['w', 'p', '', 'u'], maxBytes: 5 },
      { scope: ['w'], maxKeys: 100 },
    ])
    // A plugin's own child scope is not a user, whatever its name.
    expect(quotas.rulesFor(['w', 'p', 'u', 'x'])).toEqual([
      { scope: ['w', 'p'], maxKeys: 10 },
      { scope: ['w'], maxKeys: 100 },
    ])
    const explicit = Quotas.from({ scopes: [{ path: ['w', 'p', '', 'ann'], maxKeys: 3 }] }, 1024, 0)
    expect(explicit.rulesFor(['w', 'p', '', 'ann', 'sub'])).toEqual([{ scope: ['w', 'p', '', 'ann'], maxKeys: 3 }])
    expect(explicit.rulesFor(['w', 'p', 'ann'])).toEqual([])
    expect(() => Quotas.from({ scopes: [{ path: ['w', 'p', ''], maxKeys: 1 }] }, 1024, 0)).toThrow(/path/)
    expect(() => Quotas.from({ scopes: [{ path: ['', 'p', 'x', 'u'], maxKeys: 1 }] }, 1024, 0)).toThrow(/path/)
    expect(() => Quotas.from({ scopes: [{ path: ['w', '', 'u'], maxKeys: 1 }] }, 1024, 0)).toThrow(/path/)
    expect(() => Quotas.from({ scopes: [{ path: ['w'], maxKeys: 1 }] }, 1024, 2)).toThrow(/depth >= 2/)
    expect(() => Quotas.from({ user: { maxKeys: 1, extra: 1 } }, 1024, 0)).toThrow(/quotas.user.extra/)
  })
})
