// `cubby import-keyv`: 10,000 keys written by keyv itself (strings, numbers, objects, Buffers, TTLs, two
// namespaces) through @keyv/sqlite and through @keyv/redis, imported into Cubby and checked key by key: values
// exact (Buffers as bytes), TTLs within a second. keyv and its adapters come from .extras (scripts/ensure-extras.mjs),
// the way a user's project would provide them (--modules).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startRedis, type TestRedis } from '@cubby/backend-redis/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { extrasDir, importExtra } from '../../../scripts/extras.mjs'
import { connect } from '../src/index.js'
import { same } from '../src/keyv/copy.js'
import { cli } from './support/cli.js'

const { default: Keyv } = await importExtra('keyv')
const { default: KeyvSqlite } = await importExtra('@keyv/sqlite')
const { default: KeyvRedis } = await importExtra('@keyv/redis')

const PER_NAMESPACE = 5_000
const NAMESPACES = ['alpha', 'beta']

/** The i-th value: strings, numbers, objects (with a Buffer inside) and Buffers in turn. */
function sampleValue(namespace: string, i: number): unknown {
  switch (i % 5) {
    case 0:
      return `${namespace} string ${i} ✓`
    case 1:
      return i * 1.5 - 1000
    case 2:
      return { i, namespace, list: [1, 'two', null, { deep: true }], bytes: Buffer.from([i % 256, 0, 255]) }
    case 3:
      return Buffer.from(`bytes ${i}`)
    default:
      return i % 2 === 0
  }
}

/** Writes the data set with keyv; returns keyv's raw `{ value, expires }` per namespaced key, read back from keyv. */
// biome-ignore lint/suspicious/noExplicitAny: keyv adapters are untyped here
async function writeWithKeyv(makeStore: () => any): Promise<Map<string, { value: unknown; expires?: number }>> {
  const expected = new Map<string, { value: unknown; expires?: number }>()
  for (const namespace of NAMESPACES) {
    const keyv = new Keyv({ store: makeStore(), namespace })
    const errors: unknown[] = []
    keyv.on('error', (error: unknown) => errors.push(error))
    const keys: string[] = []
    for (let start = 0; start < PER_NAMESPACE; start += 500) {
      const entries = []
      for (let i = start; i < start + 500; i++) {
        const key = `key:${i}`
        keys.push(key)
        entries.push({ key, value: sampleValue(namespace, i), ttl: i % 3 === 0 ? 3_600_000 + i * 1000 : undefined })
      }
      await keyv.setMany(entries)
    }
    expect(errors).toEqual([])
    const raw = await keyv.getManyRaw(keys)
    keys.forEach((key, i) => {
      const data = raw[i]
      expect(data, `keyv wrote ${namespace}:${key}`).toBeDefined()
      expected.set(`${namespace}/${key}`, { value: data.value, expires: data.expires ?? undefined })
    })
    await keyv.disconnect()
  }
  return expected
}

/** Imports both namespaces into scopes kv/alpha and kv/beta of a new SQLite cubby, then checks every key. */
async function importAndCheck(from: string, expected: Map<string, { value: unknown; expires?: number }>, dir: string) {
  const url = `sqlite:${join(dir, `target-${Math.random().toString(36).slice(2)}.db`)}`
  for (const namespace of NAMESPACES) {
    const result = await cli([
      '--url',
      url,
      'import-keyv',
      from,
      '--namespace',
      namespace,
      '--scope',
      `kv/${namespace}`,
      '--modules',
      extrasDir,
      '--json',
    ])
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    const report = JSON.parse(result.stdout)
    expect(report).toMatchObject({ ok: true, written: PER_NAMESPACE, verify: { matched: PER_NAMESPACE } })
  }
  const target = await connect(url)
  try {
    let checked = 0
    for (const namespace of NAMESPACES) {
      const scope = target.cubby.scope('kv', namespace)
      expect((await scope.usage()).keys).toBe(PER_NAMESPACE)
      for (let i = 0; i < PER_NAMESPACE; i++) {
        const want = expected.get(`${namespace}/key:${i}`)!
        const entry = await scope.getEntry(`key:${i}`)
        expect(entry, `${namespace} key:${i}`).toBeDefined()
        expect(same(entry!.value, want.value), `${namespace} key:${i} value`).toBe(true)
        if (Buffer.isBuffer(want.value)) expect(entry!.value).toBeInstanceOf(Uint8Array)
        if (want.expires === undefined) expect(entry!.expiresAt).toBeUndefined()
        else expect(Math.abs(entry!.expiresAt! - want.expires)).toBeLessThanOrEqual(1000)
        checked++
      }
    }
    expect(checked).toBe(10_000)
  } finally {
    await target.close()
  }
}

describe('cubby import-keyv', () => {
  let dir = ''
  let redis: TestRedis
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cubby-import-keyv-'))
    redis = await startRedis()
  })
  afterAll(async () => {
    await redis?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('imports 10,000 keys written by keyv + @keyv/sqlite, exact, TTLs within a second', async () => {
    const file = join(dir, 'keyv.sqlite')
    const expected = await writeWithKeyv(() => new KeyvSqlite({ uri: `sqlite://${file}` }))
    await importAndCheck(`sqlite://${file}`, expected, dir)
  }, 240_000)

  it('imports 10,000 keys written by keyv + @keyv/redis, exact, TTLs within a second', async () => {
    const expected = await writeWithKeyv(() => new KeyvRedis(redis.url))
    await importAndCheck(redis.url, expected, dir)
  }, 240_000)

  it('refuses a missing keyv SQLite file, and says what to install when keyv is missing', async () => {
    const missing = await cli([
      '--url',
      'memory:',
      'import-keyv',
      `sqlite://${join(dir, 'nope.sqlite')}`,
      '--modules',
      extrasDir,
    ])
    expect(missing.code).toBe(2) // INVALID_CONFIG: a bad argument
    expect(missing.stderr).toMatch(/no keyv SQLite file/)
    const noModules = await cli(['--url', 'memory:', 'import-keyv', redis.url, '--modules', tmpdir()])
    // The CLI's own install may provide keyv (this repository does); the adapter it must find in the project.
    if (noModules.code !== 0) expect(noModules.stderr).toMatch(/npm install/)
  })
})
