import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Internals, internals } from '@cubby/backend-sqlite/testing'
import { waitFor as waitUntil } from '@cubby/conformance'
import { type Cubby, type CubbyOptions, openCubby } from '@cubby/core'
import type Database from 'better-sqlite3'
import { afterAll } from 'vitest'
import { resolveOptions } from '../src/options.js'
import { SqliteBackend } from '../src/sqlite-backend.js'

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url))
const BUILT = fileURLToPath(new URL('../dist/index.js', import.meta.url))

/** A temp directory removed after the file's tests. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cubby-sqlite-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/**
 * Starts a fixture script (which uses the built packages) with node, or with `prefix` (e.g. setpriv) before it;
 * `stdin: 'pipe'` keeps its stdin open until the test ends it.
 */
export function fixture(
  name: string,
  args: string[],
  options: { cwd?: string; prefix?: string[]; stdin?: 'pipe' } = {},
): ChildProcess {
  if (!existsSync(BUILT)) throw new Error('packages/backend-sqlite is not built: run `npm run build` (npm test does)')
  const command = [...(options.prefix ?? []), process.execPath, join(FIXTURES, name), ...args]
  return spawn(command[0]!, command.slice(1), { stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'], cwd: options.cwd })
}

/** Resolves with the exit code; rejects with stderr if the process fails. */
export function exited(child: ChildProcess): Promise<number | null> {
  let stderr = ''
  child.stderr?.on('data', (chunk) => {
    stderr += chunk
  })
  return new Promise((resolve, reject) => {
    child.once('exit', (code, signal) => {
      if (code === 0 || signal === 'SIGKILL') resolve(code)
      else reject(new Error(`fixture exited with ${code ?? signal}: ${stderr}`))
    })
  })
}

/** Calls `onLine` for each stdout line of a child. */
export function lines(child: ChildProcess, onLine: (line: string) => void): void {
  let buffered = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8')
    const parts = buffered.split('\n')
    buffered = parts.pop()!
    for (const line of parts) onLine(line)
  })
}

/** Runs a fixture to the end and returns its stdout parsed as JSON (the fixture prints one JSON document). */
export async function fixtureJson<T>(name: string, args: string[], options: { prefix?: string[] } = {}): Promise<T> {
  const child = fixture(name, args, options)
  let out = ''
  child.stdout?.on('data', (chunk) => {
    out += chunk
  })
  await exited(child)
  return JSON.parse(out) as T
}

/** Waits until `condition` holds, polling; fails with `what` after `timeoutMs` (wide: the machine is shared). */
export function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  return waitUntil(condition, what, timeoutMs)
}

/** A cubby on a SqliteBackend the test can look into. `options` are the backend's, `core` openCubby's. */
export async function openSqlite(
  file: string,
  options: Record<string, unknown> = {},
  core: { timeoutMs?: number; clock?: () => number; quotas?: CubbyOptions['quotas'] } = {},
): Promise<{ cubby: Cubby; backend: SqliteBackend; internals: Internals }> {
  const timeoutMs = core.timeoutMs ?? 10_000
  const backend = new SqliteBackend(resolveOptions(file, options, timeoutMs), core.clock ?? Date.now)
  const cubby = await openCubby({ ...core, backend, timeoutMs })
  return { cubby, backend, internals: internals(backend) }
}

/** Settles a promise into 'ok' or its error code, for compact assertions. */
export function outcome(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'ok',
    (error: { code?: string }) => error.code ?? String(error),
  )
}

/**
 * Checks what the counters and flags of every scope row say against the rows actually stored in its subtree;
 * returns the rows that disagree (none when consistent).
 */
export function inconsistencies(db: Database.Database): string[] {
  type Row = { id: number; parent: number | null; path: string; keys: number; bytes: number; expiring: number }
  const rows = db.prepare('SELECT id, parent, path, keys, bytes, expiring, holds, ttl FROM scopes').all() as Array<
    Row & { holds: number; ttl: number }
  >
  const own = db
    .prepare(
      `SELECT scope, count(*) AS keys, sum(length(CAST(key AS BLOB)) + length(value)) AS bytes,
              count(expires_at) AS expiring FROM entries GROUP BY scope`,
    )
    .all() as Array<{ scope: number; keys: number; bytes: number; expiring: number }>
  const parents = new Map(rows.map((row) => [row.id, row.parent]))
  const real = new Map(rows.map((row) => [row.id, { keys: 0, bytes: 0, expiring: 0 }]))
  for (const totals of own) {
    for (let at: number | null | undefined = totals.scope; at != null; at = parents.get(at)) {
      const sum = real.get(at)
      if (!sum) break
      sum.keys += totals.keys
      sum.bytes += totals.bytes
      sum.expiring += totals.expiring
    }
  }
  const wrong: string[] = []
  for (const row of rows) {
    const sum = real.get(row.id)!
    const expected = { ...sum, holds: sum.keys > 0 ? 1 : 0, ttl: sum.expiring > 0 ? 1 : 0 }
    const stored = { keys: row.keys, bytes: row.bytes, expiring: row.expiring, holds: row.holds, ttl: row.ttl }
    if (JSON.stringify(stored) !== JSON.stringify(expected)) {
      wrong.push(`${JSON.stringify(row.path)}: stored ${JSON.stringify(stored)}, actual ${JSON.stringify(expected)}`)
    }
  }
  return wrong
}
