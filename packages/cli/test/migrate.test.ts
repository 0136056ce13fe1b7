import { basename, dirname, join, relative } from 'node:path'
import type { Backend } from '@cubby/core/backend'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Connection, connect, EXIT } from '../src/index.js'
import {
  memoryBackend,
  openCapturing,
  over,
  redisBackend,
  sqliteBackend,
  type TestBackend,
} from './support/backends.js'
import { cli } from './support/cli.js'
import { DATASET_SIZE, fillDataset, snapshot } from './support/dataset.js'

let sqlite: TestBackend
let memory: TestBackend
beforeAll(async () => {
  sqlite = await sqliteBackend()
  memory = memoryBackend()
})
afterAll(async () => {
  await memory.close()
  await sqlite.close()
})

/** Routes memory:NAME to the shared memory stores and everything else to real connections. */
const connectAny: TestBackend['connect'] = (url, options) =>
  url.startsWith('memory:') ? memory.connect(url, options) : connect(url, options)

const migrate = (from: string, to: string, ...argv: string[]) =>
  cli(['migrate', '--from', from, '--to', to, ...argv], { connect: connectAny })

describe('migrate', () => {
  it('SQLite -> Redis -> memory: every hop verified, the end equal to the start', async () => {
    const redis = await redisBackend()
    try {
      const first = await sqlite.fresh()
      const source = await sqlite.open(first)
      await fillDataset(source.cubby)
      const second = await redis.fresh()
      const toRedis = await migrate(first, second)
      expect(toRedis.code, toRedis.stdout + toRedis.stderr).toBe(0)
      expect(toRedis.stdout).toMatch(new RegExp(`verified ${DATASET_SIZE} entries in \\d+ scopes: all match`))
      const third = await memory.fresh()
      const toMemory = await migrate(second, third, '--json')
      expect(toMemory.code, toMemory.stdout + toMemory.stderr).toBe(0)
      expect(JSON.parse(toMemory.stdout)).toMatchObject({
        ok: true,
        read: DATASET_SIZE,
        written: DATASET_SIZE,
        verify: { matched: DATASET_SIZE, missing: 0, different: 0, extra: 0 },
      })
      const end = await memory.open(third)
      expect(await snapshot(end.cubby)).toEqual(await snapshot(source.cubby))
      expect((await end.cubby.scope().usage()).keys).toBe(DATASET_SIZE)
      await source.close()
    } finally {
      await redis.close()
    }
  })

  it('copies SQLite -> memory and verifies every entry', async () => {
    const from = await sqlite.fresh()
    const source = await sqlite.open(from)
    await fillDataset(source.cubby)
    const to = await memory.fresh()
    const result = await migrate(from, to)
    expect(result.code, result.stderr).toBe(0)
    const scopes = (await snapshot(source.cubby)).reduce((set, e) => set.add(JSON.stringify(e.scope)), new Set())
    expect(result.stdout).toContain(`copied ${DATASET_SIZE} entries in ${scopes.size} scopes`)
    expect(result.stdout).toMatch(new RegExp(`verified ${DATASET_SIZE} entries in \\d+ scopes: all match`))
    const target = await memory.open(to)
    expect(await snapshot(target.cubby)).toEqual(await snapshot(source.cubby))
    await source.close()
  })

  it('--from-option and --to-option give each store its own options (--option applies to both)', async () => {
    const from = await sqlite.fresh()
    const source = await sqlite.open(from)
    await source.cubby.scope('a').set('k', 1)
    await source.close()
    const real = (...argv: string[]) => cli(['migrate', '--from', from, '--to', 'memory:', ...argv], { connect })
    const shared = await real('--option', 'durability=strict')
    expect(shared.code).toBe(EXIT.USAGE)
    expect(shared.stderr).toMatch(/durability/)
    const own = await real('--from-option', 'durability=strict', '--to-option', 'sweepIntervalMs=500', '--json')
    expect(own.code, own.stderr).toBe(0)
    expect(JSON.parse(own.stdout)).toMatchObject({ ok: true, read: 1, written: 1 })
    const swapped = await real('--to-option', 'durability=strict')
    expect(swapped.code).toBe(EXIT.USAGE)
  })

  it('--json reports the counts', async () => {
    const from = await sqlite.fresh()
    const source = await sqlite.open(from)
    await source.cubby.scope('a').setMany([
      ['x', 1],
      ['y', 2],
    ])
    await source.close()
    const result = await migrate(from, await memory.fresh(), '--json')
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({
      ok: true,
      read: 2,
      written: 2,
      expired: 0,
      scopes: 1,
      verify: { matched: 2, missing: 0, different: 0, extra: 0 },
    })
  })

  it('copies only a subtree with --plugin, to the same path', async () => {
    const from = await sqlite.fresh()
    const source = await sqlite.open(from)
    await source.cubby.scope('default', 'todo', 'alice').set('t', 1)
    await source.cubby.scope('default', 'other').set('o', 1)
    await source.close()
    const to = await memory.fresh()
    expect((await migrate(from, to, '--plugin', 'todo')).code).toBe(0)
    const target = await memory.open(to)
    expect(await target.cubby.scope('default', 'todo', 'alice').get('t')).toBe(1)
    expect((await target.cubby.scope().usage()).keys).toBe(1)
  })

  it('refuses a target that holds data, unless --overwrite', async () => {
    const from = await sqlite.fresh()
    const source = await sqlite.open(from)
    await source.cubby.scope('a').set('k', 'new')
    await source.close()
    const to = await memory.fresh()
    const target = await memory.open(to)
    await target.cubby.scope('a').set('k', 'old')
    await target.cubby.scope('a').set('kept', 1)
    const refused = await migrate(from, to)
    expect(refused.code).toBe(EXIT.ERROR)
    expect(refused.stderr).toMatch(/^cubby: TARGET_NOT_EMPTY: /)
    const merged = await migrate(from, to, '--overwrite')
    expect(merged.code, merged.stdout + merged.stderr).toBe(0)
    expect(merged.stdout).toContain('1 extra in the target')
    expect(await target.cubby.scope('a').get('k')).toBe('new')
    expect(await target.cubby.scope('a').get('kept')).toBe(1)
  })

  it('exits 4 and lists the differences when the target does not match', async () => {
    const from = await sqlite.fresh()
    const source = await sqlite.open(from)
    await source.cubby.scope('s').setMany(Array.from({ length: 10 }, (_, i) => [`k${i}`, i] as const))
    await source.close()
    // A target whose backend silently drops one key and alters another: what verification must catch.
    const real = await openCapturing('memory:')
    const lossy: Backend = Object.create(real.backend)
    lossy.write = (request) =>
      real.backend.write({
        ...request,
        ops: request.ops
          .filter((op) => op.key !== 'k3')
          .map((op) => (op.key === 'k5' && op.type === 'set' ? { ...op, value: Buffer.from([1, 0x6a, 0x30]) } : op)),
      })
    const target: Connection = await over(lossy)
    const result = await cli(['migrate', '--from', from, '--to', 'memory:lossy'], {
      connect: (url, options) => (url === 'memory:lossy' ? Promise.resolve(target) : connect(url, options)),
    })
    expect(result.code).toBe(EXIT.MISMATCH)
    expect(result.stdout).toContain('verified 8 entries in 1 scopes: 1 missing, 1 different, 0 extra')
    expect(result.stdout).toContain('missing   scope s key "k3"')
    expect(result.stdout).toContain('different scope s key "k5"')
    expect(result.stderr).toMatch(/^cubby: VERIFY_FAILED: /)
  })

  it('does not copy entries that have expired, and keeps the expiry of the others', async () => {
    const from = await sqlite.fresh()
    const { openCubby } = await import('@cubby/core')
    // A clock 2 s behind: the 1 s TTL below has already passed for the migrating process.
    const early = await openCubby({ url: from, clock: () => Date.now() - 2000 })
    await early.scope('t').set('expired', 1, { ttl: 1000 })
    await early.scope('t').set('ttl', 2, { ttl: 3_600_000 })
    await early.scope('t').set('plain', 3)
    await early.close()
    const to = await memory.fresh()
    const result = await migrate(from, to, '--json')
    expect(result.code, result.stdout).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({ read: 2, written: 2, verify: { matched: 2, missing: 0 } })
    const source = await sqlite.open(from)
    const target = await memory.open(to)
    expect((await target.cubby.scope('t').getEntry('ttl'))!.expiresAt).toBe(
      (await source.cubby.scope('t').getEntry('ttl'))!.expiresAt,
    )
    await source.close()
  })

  it('rejects the same store on both sides, however the URLs spell it, and missing options', async () => {
    expect((await migrate('memory:x', 'memory:x')).code).toBe(EXIT.USAGE)
    const url = await sqlite.fresh()
    await (await sqlite.open(url)).close()
    const file = url.slice('sqlite:'.length)
    const spellings: [string, string][] = [
      [url, `sqlite:${relative(process.cwd(), file)}`],
      [url, `sqlite:${join(dirname(file), '.', basename(file))}`],
      [url, `sqlite://${file}`],
      ['redis://127.0.0.1:6379', 'redis://127.0.0.1:6379/0'],
      ['redis://LOCALHOST/2', 'redis://localhost:6379/2'],
    ]
    for (const [from, to] of spellings) {
      const result = await cli(['migrate', '--from', from, '--to', to])
      expect(result.code, `${from} ${to}`).toBe(EXIT.USAGE)
      expect(result.stderr).toMatch(/^cubby: USAGE: --from .* and --to .* are the same store\n/)
    }
    expect((await cli(['migrate', '--from', 'memory:'])).code).toBe(EXIT.USAGE)
  })

  it('--to memory: says the copy ends with the process', async () => {
    const from = await sqlite.fresh()
    const source = await sqlite.open(from)
    await source.cubby.scope('a').set('k', 1)
    await source.close()
    const result = await cli(['migrate', '--from', from, '--to', 'memory:'])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toBe('cubby: note: memory: is a store inside this process; this copy ends with it\n')
  })
})
