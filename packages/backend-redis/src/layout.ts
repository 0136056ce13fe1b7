import { randomBytes } from 'node:crypto'
import { BackendError, InvalidConfigError, legacyToUserLayout, type ScopePath } from '@cubby/core/backend'
import type { Arg, Connection } from './connection.js'
import { childrenKey, expiryKey, indexKey, type ScopeKeys, scopeKeys, sequenceKey, sizesKey, usageKey } from './keys.js'
import type { Scripts } from './scripts.js'

/** The stored layout this code reads and writes: 2 = users at `[w, p, '', u]` (1, or no key: `[w, p, u]`). */
export const LAYOUT_VERSION = '2'

/** Test hooks of the migration; production uses the defaults. */
export interface MigrationHooks {
  /** How long the migration lock lasts unless renewed (renewed every third of it). @default 10000 */
  leaseMs?: number
  /** Entries moved per call. @default 500 */
  chunk?: number
  /** Called after every chunk and scope the migration moved (a test may stop the process there). */
  onStep?: (moved: number) => Promise<void> | void
}

/** What opening did about the layout: found it current, migrated it, or waited for another instance that did. */
export interface LayoutReport {
  outcome: 'current' | 'migrated' | 'waited'
  /** Scopes and entries this process moved. */
  scopes: number
  entries: number
  ms: number
}

interface Context {
  connection: Connection
  scripts: Scripts
  prefix: string
  standalone: boolean
  where: string
  /** Epoch ms after which the open gives up. */
  deadline: number
  /** Bounds one command. */
  bound: <T>(promise: Promise<T>) => Promise<T>
  hooks: MigrationHooks
}

const POLL_MS = 100
const PAGE = 200
/** Plugins migrated at once. */
const PARALLEL = 4

/**
 * Brings the store under `prefix` to LAYOUT_VERSION at open, once per prefix, safe while several instances open at
 * the same time. `prefix:layout` holds the version. Without it, one opener takes the lock `prefix:layout:lock`
 * (`SET NX PX`, renewed while it works) and migrates; the others poll until the version appears — or, if the lock
 * holder died, its lease runs out and one of them takes over where it stopped. Every step is idempotent (see
 * lua/migrate.ts), so a migration cut short anywhere resumes without losing or doubling anything. Gives up with
 * `BackendError` at `deadline` (the open's timeout), after releasing the lock; the next open resumes.
 */
export async function ensureLayout(ctx: Context): Promise<LayoutReport> {
  const started = Date.now()
  const layoutKey = `${ctx.prefix}:layout`
  const lockKey = `${ctx.prefix}:layout:lock`
  const leaseMs = ctx.hooks.leaseMs ?? 10_000
  let waited = false
  for (;;) {
    const version = await ctx.bound(ctx.connection.send(layoutKey, ['GET', layoutKey]))
    const text = version === null ? null : String(version)
    if (text === LAYOUT_VERSION) {
      return { outcome: waited ? 'waited' : 'current', scopes: 0, entries: 0, ms: Date.now() - started }
    }
    if (text !== null && text !== '1') {
      throw new InvalidConfigError(
        'prefix',
        `the Redis store under prefix ${JSON.stringify(ctx.prefix)} has layout ${text}, written by a newer release of ` +
          '@cubby/backend-redis: upgrade this instance',
      )
    }
    const token = randomBytes(12).toString('hex')
    const taken = await ctx.bound(ctx.connection.send(lockKey, ['SET', lockKey, token, 'NX', 'PX', String(leaseMs)]))
    if (taken !== null) {
      const report = await migrateHolding(ctx, lockKey, token, leaseMs)
      await ctx.bound(ctx.connection.send(layoutKey, ['SET', layoutKey, LAYOUT_VERSION]))
      await lease(ctx, lockKey, token, 0).catch(() => {}) // it expires by itself otherwise
      return { ...report, outcome: 'migrated', ms: Date.now() - started }
    }
    waited = true
    if (Date.now() > ctx.deadline) {
      throw new BackendError(
        `another instance is migrating the Redis store under prefix ${JSON.stringify(ctx.prefix)} to the user ` +
          'layout and did not finish before this open timed out: open again (the migration goes on, and resumes ' +
          'if that instance stopped), or raise timeoutMs',
      )
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS))
  }
}

/** Migrates while holding the lock, renewing it; the lock is released if the migration fails. */
async function migrateHolding(
  ctx: Context,
  lockKey: string,
  token: string,
  leaseMs: number,
): Promise<Omit<LayoutReport, 'outcome'>> {
  let lost = false
  const renew = setInterval(
    () => {
      lease(ctx, lockKey, token, leaseMs).then(
        (held) => {
          if (!held) lost = true
        },
        () => {},
      )
    },
    Math.max(10, Math.floor(leaseMs / 3)),
  )
  renew.unref()
  const counts = { scopes: 0, entries: 0, ms: 0 }
  const step = async (moved: number) => {
    if (lost) throw new BackendError('the layout migration lost its lock (a stall longer than its lease): open again')
    if (Date.now() > ctx.deadline) {
      throw new BackendError(
        `the migration of the Redis store under prefix ${JSON.stringify(ctx.prefix)} to the user layout did not ` +
          `finish before the open timed out (${counts.scopes} scopes, ${counts.entries} entries moved so far): ` +
          'open again to resume where it stopped, or raise timeoutMs',
      )
    }
    await ctx.hooks.onStep?.(moved)
  }
  try {
    await eachChild(ctx, [], (workspace) =>
      eachChild(ctx, [workspace], (plugin) => migratePlugin(ctx, [workspace, plugin], counts, step), PARALLEL),
    )
    return counts
  } catch (error) {
    await lease(ctx, lockKey, token, 0).catch(() => {})
    throw error
  } finally {
    clearInterval(renew)
  }
}

async function lease(ctx: Context, lockKey: string, token: string, ms: number): Promise<boolean> {
  const reply = await ctx.bound(ctx.scripts.lease.run(ctx.connection, [lockKey], [ctx.prefix, 'c', token, String(ms)]))
  return Number(reply) === 1
}

type Counts = { scopes: number; entries: number }

/** Every old scope below a plugin (its users, in the old layout) moves under the user level. */
async function migratePlugin(ctx: Context, plugin: ScopePath, counts: Counts, step: (n: number) => Promise<void>) {
  await eachChild(ctx, plugin, (name) => (name === '' ? Promise.resolve() : moveScope(ctx, [...plugin, name])))

  /** Moves a scope at old `path` (depth 3+): its children first, then its own entries, then its counters. */
  async function moveScope(ctx: Context, path: ScopePath): Promise<void> {
    await eachChild(ctx, path, (name) => moveScope(ctx, [...path, name]))
    const from = scopeKeys(ctx.prefix, path)
    const to = scopeKeys(ctx.prefix, legacyToUserLayout(path))
    const chunk = ctx.hooks.chunk ?? 500
    const index = indexKey(from)
    for (;;) {
      const keys = (await ctx.bound(ctx.connection.send(index, ['ZRANGE', index, '0', String(chunk - 1)]))) as Buffer[]
      if (keys.length === 0) break
      const declared = [expiryKey(from.group), sizesKey(from.group), index, indexKey(to)]
      const args: Arg[] = [ctx.prefix, ctx.standalone ? 's' : 'c', from.id, to.id, String(keys.length)]
      for (const key of keys) {
        const text = key.toString('utf8')
        declared.push(from.entries + text, to.entries + text)
        args.push(key)
      }
      const moved = Number(await ctx.bound(ctx.scripts.move.run(ctx.connection, declared, args)))
      counts.entries += moved
      await step(moved)
    }
    const declared = [index, usageKey(from), usageKey(to), childrenKey(from), childrenKey(to)]
    declared.push(sequenceKey(from), sequenceKey(to))
    const user = path.length === 3
    if (user) {
      const level = scopeKeys(ctx.prefix, [...plugin, ''])
      declared.push(childrenKey(scopeKeys(ctx.prefix, plugin)), childrenKey(level), usageKey(level))
    }
    const args = [ctx.prefix, ctx.standalone ? 's' : 'c', user ? path[2]! : '']
    const done = Number(await ctx.bound(ctx.scripts.finish.run(ctx.connection, declared, args)))
    if (done !== 1) throw new BackendError(`the layout migration found entries left in ${from.id}: open again`)
    counts.scopes++
    await step(0)
  }
}

/** Runs `visit` on every name in the child index of `path`, a page at a time, `parallel` at once. */
async function eachChild(
  ctx: Context,
  path: ScopePath,
  visit: (name: string) => Promise<void>,
  parallel = 1,
): Promise<void> {
  const key = childrenKey(scopeKeys(ctx.prefix, path) as ScopeKeys)
  for (let after: string | undefined; ; ) {
    const min = after === undefined ? '-' : Buffer.concat([Buffer.from('('), Buffer.from(after, 'utf8')])
    const page = (
      (await ctx.bound(
        ctx.connection.send(key, ['ZRANGEBYLEX', key, min, '+', 'LIMIT', '0', String(PAGE)]),
      )) as Buffer[]
    ).map((name) => name.toString('utf8'))
    for (let i = 0; i < page.length; i += parallel) await Promise.all(page.slice(i, i + parallel).map(visit))
    if (page.length < PAGE) return
    after = page[page.length - 1]
  }
}
