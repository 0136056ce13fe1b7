import { openCubby } from '@cubby/core'
import fc from 'fast-check'
import { createClient } from 'redis'
import { afterAll, describe, expect, it } from 'vitest'
import { NUMBERS } from '../src/lua/numbers.js'
import { parseUrl, resolveOptions } from '../src/options.js'
import { startRedis } from '../src/testing/index.js'

const server = await startRedis()
const raw = createClient({ url: server.url })
raw.on('error', () => {})
await raw.connect()
afterAll(async () => {
  await raw.close()
  await server.stop()
})

describe('key layout', () => {
  it('writes keys redis-cli can read, under the prefix and the plugin hash tag', async () => {
    const cubby = await openCubby({ url: server.url, prefix: 'app1' })
    const { store, user } = cubby.stores({ workspace: 'acme', plugin: 'todo', user: 'ann' })
    await store.set('title', 'Todos')
    await user!.set('list', ['milk'], { ttl: 60_000 })
    const version = (await user!.getEntry('list'))!.version
    expect(await raw.get('app1:{/acme/todo}:e:/acme/todo:title')).toBe(
      `${(await store.getEntry('title'))!.version}||\u0001j"Todos"`,
    )
    // A user lives under the user level '' (an empty segment: `/acme/todo//ann`).
    expect(await raw.get('app1:{/acme/todo}:e:/acme/todo//ann:list')).toMatch(
      new RegExp(`^${version}\\|\\d+\\|\u0001j\\["milk"\\]$`),
    )
    expect(await raw.zRange('app1:{/acme/todo}:i:/acme/todo//ann', 0, -1)).toEqual(['list'])
    expect(await raw.zRange('app1:{/acme/todo}:c:/acme/todo', 0, -1)).toEqual([''])
    expect(await raw.zRange('app1:{/acme/todo}:c:/acme/todo/', 0, -1)).toEqual(['ann'])
    expect(await raw.hGetAll('app1:{/acme/todo}:u:/acme/todo')).toMatchObject({ k: '2' })
    expect(await raw.hGetAll('app1:{/acme/todo}:u:/acme/todo/')).toMatchObject({ k: '1' })
    expect(await raw.zRange('app1:{/acme/todo}:x', 0, -1)).toEqual(['/acme/todo//ann:list'])
    expect(await raw.get('app1:layout')).toBe('2')
    expect(await raw.zRange('app1:xg', 0, -1)).toEqual(['/acme/todo'])
    await cubby.close()
  })

  it('escapes separators and braces so no segment can break a key or a hash tag', async () => {
    const cubby = await openCubby({ url: server.url, prefix: 'app2' })
    await cubby.scope('a/b:{c}%', 'x').set('k:{}', 1)
    expect(await raw.exists('app2:{/a%2Fb%3A%7Bc%7D%25/x}:e:/a%2Fb%3A%7Bc%7D%25/x:k:{}')).toBe(1)
    await cubby.close()
  })

  it('never uses KEYS or SCAN, whatever the workload', async () => {
    await raw.configResetStat()
    const cubby = await openCubby({ url: server.url, prefix: 'app3' })
    const root = cubby.scope()
    await root.scope('w', 'p', 'u').setMany({ a: 1, b: 2 }, { ttl: 10 })
    await root.scope('w', 'q').set('c', 3)
    await root.scope('w').set('own', 1)
    await root.usage()
    await root.scopes()
    await root.scope('w').list()
    await root.scope('w', 'p').drop()
    await root.scope('w').clear()
    await root.drop()
    await cubby.close()
    const stats = await raw.info('commandstats')
    expect(stats).not.toMatch(/cmdstat_(keys|scan):/)
    expect(stats).toMatch(/cmdstat_fcall:/)
  })
})

describe('numbers in Lua', () => {
  it('formats sums exactly as JSON.stringify does (property)', async () => {
    const script = `${NUMBERS} return jsformat(tonumber(ARGV[1]))`
    const check = async (x: number) => {
      const text = (await raw.eval(script, { arguments: [String(x)] })) as string
      expect(text).toBe(JSON.stringify(x))
    }
    for (const x of [
      0,
      1,
      -1,
      0.1,
      0.30000000000000004,
      1e21,
      1e-7,
      123e-20,
      5e-324,
      Number.MAX_VALUE,
      2 ** 53,
      1.5e300,
      100,
      1e6,
    ]) {
      await check(x)
    }
    await fc.assert(
      fc.asyncProperty(
        fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Object.is(x, -0)),
        check,
      ),
      { numRuns: 300 },
    )
  })
})

describe('options', () => {
  it('parses server and cluster URLs, with credentials and TLS for every node', () => {
    expect(parseUrl('redis://127.0.0.1:6379/2')).toMatchObject({
      endpoints: [{ host: '127.0.0.1', port: 6379 }],
      database: 2,
      cluster: false,
      credentials: { tls: false },
    })
    expect(parseUrl('rediss://u:p%40ss@h:1')).toMatchObject({
      endpoints: [{ host: 'h', port: 1 }],
      credentials: { username: 'u', password: 'p@ss', tls: true },
    })
    expect(parseUrl('redis+cluster://u:p@h1:1,h2:2')).toMatchObject({
      endpoints: [
        { host: 'h1', port: 1 },
        { host: 'h2', port: 2 },
      ],
      cluster: true,
      credentials: { username: 'u', password: 'p', tls: false },
    })
    expect(parseUrl('rediss+cluster://:pw@[::1]:7000')).toMatchObject({
      endpoints: [{ host: '::1', port: 7000 }],
      credentials: { password: 'pw', tls: true },
    })
    expect(parseUrl('redis+cluster://:pw@h:1').credentials.username).toBeUndefined()
    expect(parseUrl('redis://localhost')).toMatchObject({ endpoints: [{ host: 'localhost', port: 6379 }] })
    expect(() => parseUrl('redis+cluster://h1:x')).toThrow(/host:port/)
    expect(() => parseUrl('redis+cluster://h1:1/3')).toThrow(/only database 0/)
    expect(() => parseUrl('redis://h1:1,h2:2')).toThrow(/redis\+cluster/)
    expect(() => parseUrl('redis://h:1/x')).toThrow(/not a number/)
    expect(() => parseUrl('http://x')).toThrow(/redis/)
    expect(() => parseUrl('redis://u:secret@h:x')).toThrow(/host:port/)
    expect(() => parseUrl('redis://u:secret@h:x')).not.toThrow(/secret/)
  })

  it('validates options, naming the field', () => {
    expect(() => resolveOptions('redis://h:1', { prefix: 'a{b' })).toThrow(/prefix/)
    expect(() => resolveOptions('redis://h:1', { sweepIntervalMs: 0 })).toThrow(/sweepIntervalMs/)
    expect(() => resolveOptions('redis://h:1', { heartbeatMs: 1.5 })).toThrow(/heartbeatMs/)
    expect(() => resolveOptions('redis://h:1', { commandTimeoutMs: '5' })).toThrow(/commandTimeoutMs/)
    expect(() => resolveOptions('redis://h:1', { colour: 1 })).toThrow(/colour/)
    expect(resolveOptions('redis://h:1', {})).toMatchObject({ prefix: 'cubby', cluster: false })
  })

  it('fails to open with BACKEND saying what to check when nothing listens', async () => {
    const error = await openCubby({ url: 'redis://127.0.0.1:1', connectTimeoutMs: 500 }).catch(
      (e: { code?: string }) => e,
    )
    expect(error).toMatchObject({ code: 'BACKEND', message: expect.stringMatching(/check that it runs/) })
  })
})
