import { chmodSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { openCubby } from '@cubby/core'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { SCHEMA_VERSION } from '../src/schema.js'
import { fixtureJson, inconsistencies, openSqlite, tempDir } from './support.js'

const dir = tempDir()
const root = process.getuid?.() === 0

/** Fails fast when a call hangs, instead of waiting for the test timeout (a no-hang bound, not a speed check). */
function settles<T>(promise: Promise<T>, what: string, ms = 20_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}

/**
 * Runs a fixture in a private mount namespace, so it can mount a tmpfs of its own: as root (CI) with `unshare
 * --mount`; otherwise in a user namespace (`unshare --user --map-root-user --mount`), which most Linux systems allow.
 */
function inMountNamespace<T>(name: string, args: string[]): Promise<T> {
  const prefix = root
    ? ['unshare', '--mount', '--propagation', 'private']
    : ['unshare', '--user', '--map-root-user', '--mount', '--propagation', 'private']
  return fixtureJson<T>(name, args, { prefix }).catch((error: Error) => {
    throw new Error(
      `${error.message}\nthis test needs a private mount namespace for a tmpfs: run it as root (as CI does), or enable unprivileged user namespaces`,
    )
  })
}

describe('a full disk', () => {
  it('fails writes with BACKEND past maxSizeBytes, writes nothing of them, and keeps reads and deletes working', async () => {
    const { cubby, internals } = await openSqlite(join(dir, 'full.db'), { maxSizeBytes: 200_000 })
    const store = cubby.scope('full')
    let failure: { code?: string; message?: string; key?: string } | undefined
    for (let i = 0; i < 1000 && !failure; i++) {
      await settles(store.set(`k${i}`, 'x'.repeat(4000)), `set k${i}`).catch((error: { code?: string }) => {
        failure = { ...error, message: (error as Error).message, key: `k${i}` }
      })
    }
    expect(failure).toMatchObject({ code: 'BACKEND', message: expect.stringMatching(/full/) })
    expect(await store.has(failure!.key!)).toBe(false)
    expect(await store.get('k0')).toBe('x'.repeat(4000)) // reads still work
    expect(await store.delete('k0')).toBe(true) // and so does freeing space
    expect(inconsistencies(internals.db)).toEqual([])
    await cubby.close()
  })

  it('on a real ENOSPC (a tiny tmpfs): the failed batch is absent, every acknowledged write is kept', async () => {
    const report = await inMountNamespace<Record<string, unknown>>('tmpfs-faults.mjs', [join(dir, 'tmpfs')])
    expect(report.failures).not.toEqual([])
    for (const failure of report.failures as string[]) expect(failure).toMatch(/^BACKEND: .*(full|I\/O)/)
    expect(report.failedBatchPresent).toBe(0)
    expect(report.ackedMissing).toBe(0)
    expect(report.acked).toBeGreaterThan(0)
    expect(report.deleteWhileFull).toBe('true')
    expect(report.close).toBe('ok')
    expect(report.integrity).toBe('ok')
    expect(report.rows).toBe(report.acked)
    expect(report.counters).toBe(report.acked)
    expect(report.usage).toMatchObject({ keys: report.acked })
    // a read-only mount: read-only opens say what they need, read-write opens fail with BACKEND
    expect(report.readOnlyOpen).toMatch(/^BACKEND: cannot read .*read-only: in WAL mode a reader needs .*-shm/)
    expect(report.readWriteOpen).toMatch(/^BACKEND: /)
  })
})

describe('read-only', () => {
  const setup = async (name: string) => {
    const sub = join(dir, name)
    mkdirSync(sub)
    const file = join(sub, 'ro.db')
    let now = 1_000_000
    const cubby = await openCubby({ url: `sqlite:${file}`, clock: () => now })
    const s = cubby.scope('s')
    await s.set('k', 'v')
    await s.set('t', 'expiring', { ttl: 1000 })
    await s.scope('child').set('c', 1, { ttl: 1000 })
    await s.scope('live').set('l', 1)
    await cubby.close()
    now += 10_000
    return { sub, file, now }
  }
  const expected = { get: 'v', list: ['k'], usage: 2, scopes: ['live'], watch: true, close: 'ok' }

  it('a file this process may not write: reads, usage() and scopes() work and are exact; writes fail with BACKEND', async () => {
    const { sub, file, now } = await setup('not-mine')
    chmodSync(file, 0o444)
    chmodSync(sub, 0o777) // SQLite may create the -shm file beside it
    chmodSync(dir, 0o755)
    // As root every file is writable, so the check runs as nobody; otherwise the chmod is enough.
    const prefix = root ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : []
    const report = await fixtureJson<Record<string, unknown>>('readonly-file.mjs', [file, 'default', String(now)], {
      prefix,
    })
    expect(report).toMatchObject(expected)
    expect(report.set).toMatch(/^BACKEND: the database .* is read-only/)
  })

  it('readOnly: true reads exactly (expired data excluded, nothing reclaimed), refuses writes, declares no watch', async () => {
    const { file, now } = await setup('option')
    const report = await fixtureJson<Record<string, unknown>>('readonly-file.mjs', [file, 'readOnly', String(now)])
    expect(report).toMatchObject({ ...expected, watch: false })
    expect(report.set).toMatch(/^BACKEND: the database .* is read-only/)
    const raw = new Database(file, { readonly: true })
    expect(raw.prepare('SELECT count(*) FROM entries').pluck().get()).toBe(4) // the expired rows are still there
    raw.close()
  })

  it('readOnly: true refuses a schema it cannot read, and says what to do', async () => {
    const newer = join(dir, 'ro-newer.db')
    const old = join(dir, 'ro-old.db')
    for (const [file, version] of [
      [newer, SCHEMA_VERSION + 1],
      [old, 1],
    ] as const) {
      const raw = new Database(file)
      raw.pragma(`user_version = ${version}`)
      raw.close()
    }
    await expect(openCubby({ url: `sqlite:${newer}`, readOnly: true })).rejects.toMatchObject({
      code: 'BACKEND',
      message: expect.stringMatching(/newer.*upgrade the package/),
    })
    await expect(openCubby({ url: `sqlite:${old}`, readOnly: true })).rejects.toMatchObject({
      code: 'BACKEND',
      message: expect.stringMatching(/older.*open it once without readOnly/),
    })
    await expect(openCubby({ url: `sqlite:${join(dir, 'missing.db')}`, readOnly: true })).rejects.toMatchObject({
      code: 'BACKEND',
      message: expect.stringMatching(/does not exist/),
    })
  })
})

describe('opening', () => {
  it('refuses a database written by a newer schema, and reports a file it cannot open', async () => {
    const file = join(dir, 'future.db')
    const raw = new Database(file)
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`)
    raw.close()
    await expect(openCubby(`sqlite:${file}`)).rejects.toMatchObject({
      code: 'BACKEND',
      message: expect.stringMatching(/newer/),
    })
    const made = await openCubby(`sqlite:${join(dir, 'not-a-dir.db', 'x.db')}`) // folders are created
    await made.close()
    const junk = join(dir, 'junk.db')
    writeFileSync(junk, 'this is not a database, just some text long enough to have a header'.repeat(100))
    await expect(openCubby(`sqlite:${junk}`)).rejects.toMatchObject({
      code: 'BACKEND',
      message: expect.stringMatching(/not a SQLite database|corrupt/),
    })
  })

  it('releases the file of every refused open', async () => {
    const file = join(dir, 'refused.db')
    const raw = new Database(file)
    raw.pragma(`user_version = ${SCHEMA_VERSION + 5}`)
    raw.close()
    const descriptors = () => readdirSync('/proc/self/fd').length
    const before = descriptors()
    for (let i = 0; i < 30; i++) await expect(openCubby(`sqlite:${file}`)).rejects.toMatchObject({ code: 'BACKEND' })
    expect(descriptors()).toBeLessThanOrEqual(before + 2)
  })
})
