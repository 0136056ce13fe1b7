import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Backend, ScopePath, StoredEntry, Usage } from '@cubby/core/backend'
import { legacyToUserLayout } from '@cubby/core/backend'
import { createClient, createCluster } from 'redis'
import { afterAll, describe, expect, it } from 'vitest'
import { entryKey, scopeKeys } from '../src/keys.js'
import { resolveOptions } from '../src/options.js'
import { openTestBackend, startCluster, startRedis } from '../src/testing/index.js'
// The release before the user level, compiled (see fixtures/old-release/README.md).
// @ts-expect-error plain JavaScript without types
import { createBackend as oldBackend } from './fixtures/old-release/backend-redis/index.js'
import { runFixture } from './support/fixture.js'

const server = await startRedis()
const cluster = await startCluster()
afterAll(async () => {
  await server.stop()
  await cluster.stop()
})

interface Snapshot {
  /** Old path (JSON) -> its entries, usage, and each entry's native expiry time (PEXPIRETIME). */
  scopes: Map<string, { entries: StoredEntry[]; usage: Usage; expiry: number[] }>
}

/** A plain command sender for either kind of target. */
async function rawSender(url: string) {
  const options = resolveOptions(url, {})
  const raw = options.cluster
    ? createCluster({ rootNodes: options.endpoints.map((socket) => ({ socket })) })
    : createClient({ socket: options.endpoints[0] })
  raw.on('error', () => {})
  await raw.connect()
  const send = (key: string, args: string[]) =>
    options.cluster
      ? (raw as ReturnType<typeof createCluster>).sendCommand(key, false, args)
      : (raw as ReturnType<typeof createClient>).sendCommand(args)
  return { send, close: () => raw.close() }
}

async function snapshot(backend: Backend, url: string, prefix: string, layout: 'old' | 'new'): Promise<Snapshot> {
  const raw = await rawSender(url)
  const read = async (path: ScopePath, key: string) => {
    const name = entryKey(scopeKeys(prefix, path), key)
    return Number(await raw.send(name, ['PEXPIRETIME', name]))
  }
  const scopes: Snapshot['scopes'] = new Map()
  const map = layout === 'old' ? (p: ScopePath) => p : legacyToUserLayout
  await walkTree(backend, read, [], scopes, map, layout)
  await raw.close()
  return { scopes }
}

/** Walks old paths; on the new layout reads each at its new place, and users under the '' level. */
async function walkTree(
  backend: Backend,
  read: (path: ScopePath, key: string) => Promise<number>,
  path: ScopePath,
  out: Snapshot['scopes'],
  map: (path: ScopePath) => ScopePath,
  layout: 'old' | 'new',
): Promise<void> {
  const now = Date.now()
  const at = map(path)
  const entries = await backend.list(at, { reverse: false, limit: 100_000, values: true, now } as never)
  const expiry = await Promise.all(entries.map((entry) => read(at, entry.key)))
  out.set(JSON.stringify(path), { entries, usage: await backend.usage(at, now), expiry })
  const listed = layout === 'new' && path.length === 2 ? [...at, ''] : at
  const names = await backend.scopes(listed, { limit: 10_000, now })
  if (layout === 'new' && path.length === 2) {
    const own = await backend.scopes(at, { limit: 10_000, now })
    expect(
      own.filter((name) => name !== ''),
      'no plugin sub-scope after the migration',
    ).toEqual([])
  }
  for (const name of names) await walkTree(backend, read, [...path, name], out, map, layout)
}

/** Runs the new code's opener in a child process; resolves to its report (or 'paused' when told to stop). */
function opener(url: string, prefix: string, mode = ''): { child: ChildProcess; done: Promise<string> } {
  const script = fileURLToPath(new URL('./fixtures/new-opener.mjs', import.meta.url))
  const child = spawn(process.execPath, [script, url, prefix, mode], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  const done = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk) => {
      out += chunk
      if (out.includes('paused')) resolve('paused')
    })
    child.stderr!.on('data', (chunk) => {
      err += chunk
    })
    child.once('exit', (code, signal) =>
      code === 0 ? resolve(out.trim()) : reject(new Error(`opener exited ${code ?? signal}: ${err}`)),
    )
  })
  return { child, done }
}

async function oldSnapshot(url: string, prefix: string): Promise<Snapshot> {
  const old = (await oldBackend({ url, options: { prefix }, clock: Date.now, timeoutMs: 30_000 })) as Backend
  try {
    return await snapshot(old, url, prefix, 'old')
  } finally {
    await old.close()
  }
}

async function checkMigrated(url: string, prefix: string, before: Snapshot): Promise<void> {
  const backend = await openTestBackend(url, { prefix }, Date.now, 30_000)
  try {
    const after = await snapshot(backend as unknown as Backend, url, prefix, 'new')
    expect([...after.scopes.keys()].sort()).toEqual([...before.scopes.keys()].sort())
    for (const [path, scope] of before.scopes) {
      // Entry by entry: key, value bytes, version, expiresAt; native expiry to the millisecond; usage.
      expect(after.scopes.get(path), path).toEqual(scope)
    }
    const now = Date.now()
    for (const plugin of [...before.scopes.keys()]
      .map((p) => JSON.parse(p) as string[])
      .filter((p) => p.length === 2)) {
      const users = [...before.scopes.entries()].filter(([p]) => {
        const path = JSON.parse(p) as string[]
        return path.length === 3 && path[0] === plugin[0] && path[1] === plugin[1]
      })
      const sum = users.reduce((a, [, s]) => ({ keys: a.keys + s.usage.keys, bytes: a.bytes + s.usage.bytes }), {
        keys: 0,
        bytes: 0,
      })
      expect(await backend.usage([...plugin, ''], now), `${plugin} user level`).toEqual(sum)
      const names = users.map(([p]) => (JSON.parse(p) as string[])[2]!).sort()
      const listed = await backend.scopes([...plugin, ''], { limit: 10_000, now })
      expect(listed, `${plugin} users`).toEqual(names)
      expect(await backend.scopes(plugin, { limit: 10_000, now })).toEqual(names.length > 0 ? [''] : [])
    }
  } finally {
    await backend.close()
  }
}

for (const mode of ['standalone', 'cluster'] as const) {
  const url = () => (mode === 'standalone' ? server.url : cluster.url)
  describe(`layout migration (${mode})`, () => {
    it('migrates a store written by the release before the user level once, with two processes opening at once', async () => {
      const prefix = `mig${mode[0]}`
      await runFixture('old-writer.mjs', [url(), prefix, '12', '60'])
      const before = await oldSnapshot(url(), prefix)
      expect(before.scopes.size).toBeGreaterThan(15)
      const a = opener(url(), prefix)
      const b = opener(url(), prefix)
      const reports = (await Promise.all([a.done, b.done])).map((line) => JSON.parse(line) as { outcome: string })
      expect(reports.map((r) => r.outcome).sort()).toEqual(
        reports.some((r) => r.outcome === 'current') ? ['current', 'migrated'] : ['migrated', 'waited'],
      )
      const raw = await rawSender(url())
      expect(String(await raw.send(`${prefix}:layout`, ['GET', `${prefix}:layout`]))).toBe('2')
      await raw.close()
      await checkMigrated(url(), prefix, before)
      // A later open finds the layout current and moves nothing.
      expect(JSON.parse(await opener(url(), prefix).done)).toMatchObject({ outcome: 'current', entries: 0 })
      await checkMigrated(url(), prefix, before)
    })

    it('resumes a migration killed half-way: nothing lost, nothing doubled', async () => {
      const prefix = `crash${mode[0]}`
      await runFixture('old-writer.mjs', [url(), prefix, '10', '300'])
      const before = await oldSnapshot(url(), prefix)
      const first = opener(url(), prefix, 'pause:12')
      expect(await first.done).toBe('paused')
      first.child.kill('SIGKILL')
      // The next open waits for the dead holder's lease to run out, then takes over where it stopped.
      const report = JSON.parse(await opener(url(), prefix).done) as { outcome: string; entries: number }
      expect(report.outcome).toBe('migrated')
      expect(report.entries).toBeGreaterThan(0)
      await checkMigrated(url(), prefix, before)
    })
  })
}
