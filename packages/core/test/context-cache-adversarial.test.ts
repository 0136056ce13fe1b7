import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { engineOf } from '../src/cubby.js'
import type { Cubby, KVStore } from '../src/index.js'
import { ClosedError, InvalidKeyError, InvalidScopeError, openCubby, store, user } from '../src/index.js'
import { rawScope, rawScopeAt } from '../src/raw/index.js'
import { MAX_CACHED_CONTEXTS } from '../src/store/context-cache.js'

/*
 * Adversarial tests of the context caches (`ContextCache` behind stores()/run(), `ChildContexts` behind scope() and
 * user()): hostile names, every order, eviction in the middle of a walk, and the real stored state checked against
 * an independent model (every scope of the backend walked with `@cubby/core/raw`).
 */

const MAX_KEY_BYTES = 1024
const USER_LEVEL = ''

/** Names a plugin or a person could pass, valid or not, including ones equal to names cached elsewhere. */
const HOSTILE: readonly unknown[] = [
  'a',
  'b',
  'cache',
  'default',
  'p',
  'u',
  'w',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  '\u0000',
  '/',
  '%',
  '%2F',
  'a/b',
  ':',
  '*',
  '..',
  '😀',
  '\uFFFF',
  'é'.repeat(341), // 1022 UTF-8 bytes: valid
  'x'.repeat(MAX_KEY_BYTES), // exactly at the limit: valid
  // invalid ones
  '',
  '\uD800',
  'a\uDC00',
  'x'.repeat(MAX_KEY_BYTES + 1),
  'é'.repeat(513),
  undefined,
  null,
  5,
  0,
  Number.NaN,
  new String('a'),
  { toString: () => 'a' },
  ['a'],
  true,
]

/** The independent oracle of the key/segment rules (DESIGN.md "Keys"). */
function validName(name: unknown): name is string {
  return typeof name === 'string' && name.length > 0 && name.isWellFormed() && Buffer.byteLength(name) <= MAX_KEY_BYTES
}

function isUserPath(path: readonly string[]): boolean {
  return path.length >= 4 && path[2] === USER_LEVEL
}

function visibleDepth(path: readonly string[]): number {
  return isUserPath(path) ? path.length - 1 : path.length
}

function isPlugin(path: readonly string[]): boolean {
  return path.length === 2
}

const pathId = (path: readonly string[]) => JSON.stringify(path)

/** Every live entry of the backend, by storage path, read through the raw layer (not through the views). */
async function dump(cubby: Cubby): Promise<Map<string, Map<string, unknown>>> {
  const out = new Map<string, Map<string, unknown>>()
  const codec = engineOf(cubby)!.codec
  const walk = async (path: string[]): Promise<void> => {
    const raw = rawScopeAt(cubby, path)
    if (!(path.length === 3 && path[2] === USER_LEVEL)) {
      const rows = await raw.list({ reverse: false, limit: 1000, values: true })
      if (rows.length > 0) {
        out.set(pathId(path), new Map(rows.map((row) => [row.key, codec.decode(row.value!)])))
      }
    }
    let after: string | undefined
    for (;;) {
      const names = await raw.scopes(after === undefined ? { limit: 100 } : { after, limit: 100 })
      for (const name of names) await walk([...path, name])
      if (names.length < 100) break
      after = names[names.length - 1]
    }
  }
  await walk([])
  return out
}

function modelAsMap(model: Map<string, Map<string, unknown>>): Map<string, Map<string, unknown>> {
  const out = new Map<string, Map<string, unknown>>()
  for (const [path, keys] of model) if (keys.size > 0) out.set(path, new Map([...keys].sort()))
  return out
}

function sortedDump(real: Map<string, Map<string, unknown>>): Map<string, Map<string, unknown>> {
  const out = new Map<string, Map<string, unknown>>()
  for (const [path, keys] of real) out.set(path, new Map([...keys].sort()))
  return out
}

/** What the call threw synchronously, or undefined. */
function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  return undefined
}

async function rejected(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  return undefined
}

/**
 * Lowers the bound of a cubby's caches (the same instances, so the code under test keeps its own wiring) so they
 * empty every few entries: eviction lands in the middle of walks.
 */
function shrinkCaches(cubby: Cubby, max: number): void {
  const engine = engineOf(cubby)! as unknown as Record<string, Record<string, unknown>>
  // The bound is the caches' constructor parameter `max`: make sure it is still there, or this would shrink nothing.
  expect(engine.scopeChildren!.max).toBe(MAX_CACHED_CONTEXTS)
  engine.scopeChildren!.max = max
  engine.userChildren!.max = max
  ;(cubby as unknown as Record<string, Record<string, unknown>>).resolved!.max = max
}

/** Pushes every cache of `cubby` past `count` entries through the public API, so each one empties. */
function fillCaches(cubby: Cubby, tag: string, count: number): void {
  const plugin = cubby.scope('fill', tag)
  for (let i = 0; i <= count; i++) {
    plugin.scope(`s${i}`)
    plugin.user(`u${i}`)
    cubby.stores({ workspace: 'fill', plugin: tag, user: `r${i}` })
  }
}

/** Pushes every cache of `cubby` past its real bound (MAX_CACHED_CONTEXTS). */
function overflowCaches(cubby: Cubby, tag: string): void {
  fillCaches(cubby, tag, MAX_CACHED_CONTEXTS)
}

interface Handle {
  view: KVStore
  path: string[]
}

type Command =
  | { kind: 'scope'; from: number; segments: unknown[] }
  | { kind: 'rootScope'; segments: unknown[] }
  | { kind: 'user'; from: number; id: unknown }
  | { kind: 'stores'; workspace: unknown; hasWorkspace: boolean; plugin: unknown; user: unknown; hasUser: boolean }
  | { kind: 'run'; workspace: unknown; plugin: unknown; user: unknown; key: unknown; value: number }
  | { kind: 'set'; from: number; key: unknown; value: number }
  | { kind: 'delete'; from: number; key: unknown }
  | { kind: 'check'; from: number }
  | { kind: 'evict' }

const name = fc.constantFrom(...HOSTILE)
const mostlyValid = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('a', 'b', 'cache', 'p', 'u', '__proto__', '/', '😀') },
  { weight: 1, arbitrary: name },
)
const handleIndex = fc.nat({ max: 1000 })
const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({
    kind: fc.constant('scope' as const),
    from: handleIndex,
    segments: fc.array(mostlyValid, { minLength: 0, maxLength: 4 }),
  }),
  fc.record({
    kind: fc.constant('rootScope' as const),
    segments: fc.array(mostlyValid, { minLength: 0, maxLength: 4 }),
  }),
  fc.record({ kind: fc.constant('user' as const), from: handleIndex, id: mostlyValid }),
  fc.record({
    kind: fc.constant('stores' as const),
    workspace: mostlyValid,
    hasWorkspace: fc.boolean(),
    plugin: mostlyValid,
    user: mostlyValid,
    hasUser: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant('run' as const),
    workspace: mostlyValid,
    plugin: mostlyValid,
    user: mostlyValid,
    key: mostlyValid,
    value: fc.integer(),
  }),
  fc.record({ kind: fc.constant('set' as const), from: handleIndex, key: mostlyValid, value: fc.integer() }),
  fc.record({ kind: fc.constant('set' as const), from: handleIndex, key: mostlyValid, value: fc.integer() }),
  fc.record({ kind: fc.constant('delete' as const), from: handleIndex, key: mostlyValid }),
  fc.record({ kind: fc.constant('check' as const), from: handleIndex }),
  fc.record({ kind: fc.constant('evict' as const) }),
)

/**
 * Runs `commands` against `cubby` and an independent model; every call's result (a view's path, a typed error, a
 * read) is compared with the model, and at the end the whole backend is compared with it.
 */
async function runModel(
  cubby: Cubby,
  commands: Command[],
  evict: () => void,
): Promise<Map<string, Map<string, unknown>>> {
  const model = new Map<string, Map<string, unknown>>()
  const keysOf = (path: readonly string[]) => {
    let keys = model.get(pathId(path))
    if (!keys) {
      keys = new Map()
      model.set(pathId(path), keys)
    }
    return keys
  }
  const handles: Handle[] = [{ view: cubby.scope('w', 'p'), path: ['w', 'p'] }]
  const pick = (i: number) => handles[i % handles.length]!
  const expectScope = (result: unknown, error: unknown, expected: string[] | undefined): KVStore | undefined => {
    if (expected === undefined) {
      expect(error, 'a bad name must be InvalidScopeError').toBeInstanceOf(InvalidScopeError)
      return undefined
    }
    expect(error).toBeUndefined()
    const view = result as KVStore
    expect([...view.path]).toEqual(expected)
    expect(rawScope(view).path).toEqual(expected)
    handles.push({ view, path: expected })
    return view
  }
  for (const cmd of commands) {
    switch (cmd.kind) {
      case 'scope':
      case 'rootScope': {
        const base = cmd.kind === 'scope' ? pick(cmd.from) : { view: cubby.scope(), path: [] as string[] }
        const target = [...base.path, ...(cmd.segments as string[])]
        const ok = cmd.segments.every(validName) && visibleDepth(target) <= 8
        let result: unknown
        const error = thrown(() => {
          result =
            cmd.kind === 'scope'
              ? base.view.scope(...(cmd.segments as string[]))
              : cubby.scope(...(cmd.segments as string[]))
        })
        expectScope(result, error, ok ? target : undefined)
        break
      }
      case 'user': {
        const base = pick(cmd.from)
        const ok = isPlugin(base.path) && validName(cmd.id)
        let result: unknown
        const error = thrown(() => {
          result = base.view.user(cmd.id as string)
        })
        expectScope(result, error, ok ? [base.path[0]!, base.path[1]!, USER_LEVEL, cmd.id as string] : undefined)
        break
      }
      case 'stores': {
        const context: Record<string, unknown> = { plugin: cmd.plugin }
        if (cmd.hasWorkspace) context.workspace = cmd.workspace
        if (cmd.hasUser) context.user = cmd.user
        const workspace = cmd.hasWorkspace && cmd.workspace !== undefined ? cmd.workspace : 'default'
        const userGiven = cmd.hasUser && cmd.user !== undefined
        const ok = validName(workspace) && validName(cmd.plugin) && (!userGiven || validName(cmd.user))
        let result: { store: KVStore; user?: KVStore } | undefined
        const error = thrown(() => {
          result = cubby.stores(context as never)
        })
        if (!ok) {
          expect(error).toBeInstanceOf(InvalidScopeError)
          break
        }
        expect(error).toBeUndefined()
        const pluginPath = [workspace as string, cmd.plugin as string]
        expectScope(result!.store, undefined, pluginPath)
        if (userGiven) expectScope(result!.user, undefined, [...pluginPath, USER_LEVEL, cmd.user as string])
        else expect(result!.user).toBeUndefined()
        break
      }
      case 'run': {
        // An absent workspace is the default one; an absent user is tested by 'stores' (here a user is needed).
        const workspace = cmd.workspace === undefined ? 'default' : cmd.workspace
        const id = cmd.user === undefined ? 'u' : cmd.user
        const context = { workspace, plugin: cmd.plugin, user: id } as never
        const ok = validName(workspace) && validName(cmd.plugin) && validName(id)
        const error = await rejected(
          (async () =>
            cubby.run(context, async () => {
              const a = await rejected(user.set(cmd.key as string, cmd.value))
              const b = await rejected(store.set(cmd.key as string, -cmd.value))
              return [a, b]
            }))().then(([a, b]) => {
            if (validName(cmd.key)) {
              expect(a).toBeUndefined()
              expect(b).toBeUndefined()
            } else {
              expect(a).toBeInstanceOf(InvalidKeyError)
              expect(b).toBeInstanceOf(InvalidKeyError)
            }
          }),
        )
        if (!ok) {
          expect(error).toBeInstanceOf(InvalidScopeError)
          break
        }
        if (error) throw error
        if (validName(cmd.key)) {
          const pluginPath = [workspace as string, cmd.plugin as string]
          keysOf([...pluginPath, USER_LEVEL, id as string]).set(cmd.key, cmd.value)
          keysOf(pluginPath).set(cmd.key, -cmd.value)
        }
        break
      }
      case 'set': {
        const { view, path } = pick(cmd.from)
        const error = await rejected(view.set(cmd.key as string, cmd.value))
        if (!validName(cmd.key)) {
          expect(error).toBeInstanceOf(InvalidKeyError)
          break
        }
        expect(error).toBeUndefined()
        keysOf(path).set(cmd.key, cmd.value)
        break
      }
      case 'delete': {
        const { view, path } = pick(cmd.from)
        let removed: unknown
        const error = await rejected(
          view.delete(cmd.key as string).then((r) => {
            removed = r
          }),
        )
        if (!validName(cmd.key)) {
          expect(error).toBeInstanceOf(InvalidKeyError)
          break
        }
        expect(error).toBeUndefined()
        expect(removed).toBe(keysOf(path).delete(cmd.key))
        break
      }
      case 'check': {
        const { view, path } = pick(cmd.from)
        const page = await view.list()
        const expected = [...keysOf(path)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        const got = page.entries.map((entry) => [entry.key, entry.value] as [string, unknown])
        expect(new Map(got)).toEqual(new Map(expected))
        break
      }
      case 'evict':
        evict()
        break
    }
  }
  // Every view still acts on its own scope (made before or after any eviction)...
  for (const { view, path } of handles) {
    const page = await view.list()
    expect(new Map(page.entries.map((e) => [e.key, e.value]))).toEqual(new Map(keysOf(path)))
  }
  // ...and the backend holds exactly what the model says, where it says.
  expect(sortedDump(await dump(cubby))).toEqual(modelAsMap(model))
  return modelAsMap(model)
}

describe('context caches under hostile names (memory)', () => {
  it('keep every write in its own scope and every error typed, with caches emptying every few entries', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(command, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 5 }),
        async (commands, max) => {
          const cubby = await openCubby({ url: 'memory:' })
          try {
            shrinkCaches(cubby, max)
            let n = 0
            await runModel(cubby, commands, () => fillCaches(cubby, `t${n++}`, max))
          } finally {
            await cubby.close()
          }
        },
      ),
      { numRuns: 150 },
    )
  })

  it('keep every write in its own scope with the real bound (caches overflowed past 4096 mid-sequence)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 30 }), async (commands) => {
        const cubby = await openCubby({ url: 'memory:' })
        let n = 0
        try {
          await runModel(cubby, commands, () => overflowCaches(cubby, `t${n++}`))
        } finally {
          await cubby.close()
        }
      }),
      { numRuns: 15 },
    )
  })

  it('never let a user id reach a plugin sub-scope of the same name, nor a segment reach a user', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...HOSTILE.filter(validName)),
        fc.array(fc.constantFrom('scopeFirst', 'userFirst', 'storesFirst', 'evict'), { minLength: 3, maxLength: 8 }),
        fc.integer({ min: 1, max: 4 }),
        async (id, order, max) => {
          const cubby = await openCubby({ url: 'memory:' })
          try {
            shrinkCaches(cubby, max)
            const plugin = () => cubby.scope('w', 'p')
            let i = 0
            for (const step of order) {
              i++
              if (step === 'evict') fillCaches(cubby, `e${i}`, max)
              else if (step === 'scopeFirst') await plugin().scope(id).set('k', `scope${i}`)
              else if (step === 'userFirst') await plugin().user(id).set('k', `user${i}`)
              else await cubby.stores({ workspace: 'w', plugin: 'p', user: id }).user!.set('k', `user${i}`)
            }
            const lastScope = [...order.entries()].filter(([, s]) => s === 'scopeFirst').pop()
            const lastUser = [...order.entries()].filter(([, s]) => s === 'userFirst' || s === 'storesFirst').pop()
            expect(await plugin().scope(id).get('k')).toBe(lastScope && `scope${lastScope[0] + 1}`)
            expect(await plugin().user(id).get('k')).toBe(lastUser && `user${lastUser[0] + 1}`)
            const real = sortedDump(await dump(cubby))
            for (const path of real.keys()) {
              const p = JSON.parse(path) as string[]
              expect([pathId(['w', 'p', id]), pathId(['w', 'p', USER_LEVEL, id])]).toContain(pathId(p))
            }
          } finally {
            await cubby.close()
          }
        },
      ),
      { numRuns: 100 },
    )
  })

  it('refuse user() on a view that is not a plugin scope even when that id is cached for a plugin view', async () => {
    const cubby = await openCubby({ url: 'memory:' })
    for (const id of HOSTILE.filter(validName)) {
      cubby.scope('w', 'p').user(id) // cached for the plugin scope ['w', 'p']
      cubby.stores({ workspace: 'w', plugin: 'p', user: id })
      const notPlugins = [
        cubby.scope(),
        cubby.scope('w'),
        cubby.scope('w', 'p', id),
        cubby.scope('w', 'p', 'x'),
        cubby.scope('w', 'p').user(id),
        cubby.scope('w', 'p').user(id).scope('x'),
        cubby.scope('p'),
        cubby.scope(id),
      ]
      for (const view of notPlugins) {
        expect(thrown(() => view.user(id))).toBeInstanceOf(InvalidScopeError)
        expect(thrown(() => view.user(id))).toBeInstanceOf(InvalidScopeError) // again, in case the first cached it
      }
    }
    await cubby.close()
  })

  it('give the same typed error for a bad name whether or not a similar name was cached', async () => {
    const cubby = await openCubby({ url: 'memory:' })
    const plugin = cubby.scope('w', 'p')
    plugin.scope('a')
    plugin.user('a')
    cubby.stores({ workspace: 'w', plugin: 'p', user: 'a' })
    const bad = HOSTILE.filter((n) => !validName(n))
    for (let round = 0; round < 2; round++) {
      for (const n of bad) {
        expect(thrown(() => plugin.scope(n as string))).toBeInstanceOf(InvalidScopeError)
        expect(thrown(() => plugin.scope('a', n as string))).toBeInstanceOf(InvalidScopeError)
        expect(thrown(() => cubby.scope('w', 'p', n as string))).toBeInstanceOf(InvalidScopeError)
        if (n !== undefined) {
          expect(thrown(() => cubby.stores({ workspace: 'w', plugin: 'p', user: n as string }))).toBeInstanceOf(
            InvalidScopeError,
          )
        }
        if (n !== undefined) {
          expect(thrown(() => cubby.stores({ workspace: n as string, plugin: 'p', user: 'a' }))).toBeInstanceOf(
            InvalidScopeError,
          )
        }
        expect(thrown(() => cubby.stores({ workspace: 'w', plugin: n as string, user: 'a' }))).toBeInstanceOf(
          InvalidScopeError,
        )
        expect(thrown(() => plugin.user(n as string))).toBeInstanceOf(InvalidScopeError)
        expect(await rejected(plugin.scope('a').set(n as string, 1))).toBeInstanceOf(InvalidKeyError)
        expect(await rejected(plugin.user('a').get(n as string))).toBeInstanceOf(InvalidKeyError)
      }
      overflowCaches(cubby, `r${round}`)
    }
    // A path too deep is refused whether or not its prefix is cached.
    const deep = plugin.scope('1', '2', '3', '4', '5', '6')
    expect(thrown(() => deep.scope('7'))).toBeInstanceOf(InvalidScopeError)
    expect(thrown(() => plugin.scope('1', '2', '3', '4', '5', '6', '7'))).toBeInstanceOf(InvalidScopeError)
    const deepUser = plugin.user('a').scope('1', '2', '3', '4', '5')
    expect(deepUser.path).toHaveLength(9)
    expect(thrown(() => deepUser.scope('6'))).toBeInstanceOf(InvalidScopeError)
    expect(thrown(() => plugin.user('a').scope('1', '2', '3', '4', '5', '6'))).toBeInstanceOf(InvalidScopeError)
    expect(await dump(cubby)).toEqual(new Map())
    await cubby.close()
  })

  it('let views made before and after an overflow of the real caches see the same data', async () => {
    const cubby = await openCubby({ url: 'memory:' })
    const before = {
      scope: cubby.scope('w', 'p').scope('s', 't'),
      user: cubby.scope('w', 'p').user('u'),
      stores: cubby.stores({ workspace: 'w', plugin: 'p', user: 'u' }),
    }
    await before.scope.set('k', 'scope')
    await before.user.set('k', 'user')
    await before.stores.store.set('k', 'plugin')
    overflowCaches(cubby, 'x')
    const after = {
      scope: cubby.scope('w', 'p').scope('s', 't'),
      user: cubby.scope('w', 'p').user('u'),
      stores: cubby.stores({ workspace: 'w', plugin: 'p', user: 'u' }),
    }
    expect(await after.scope.get('k')).toBe('scope')
    expect(await after.user.get('k')).toBe('user')
    expect(await after.stores.user!.get('k')).toBe('user')
    expect(await after.stores.store.get('k')).toBe('plugin')
    await after.scope.set('k2', 1)
    expect(await before.scope.get('k2')).toBe(1)
    await after.stores.user!.set('k2', 2)
    expect(await before.user.get('k2')).toBe(2)
    expect(await before.stores.user!.get('k2')).toBe(2)
    expect(await cubby.run({ workspace: 'w', plugin: 'p', user: 'u' }, () => user.get('k2'))).toBe(2)
    await cubby.close()
  })
})

/** One way plugin code reaches a scope, with the storage path it must reach. */
type Access = [label: string, open: (cubby: Cubby) => KVStore, path: string[]]

/** The ambient `store` or `user` of a run with `context`, as a view whose calls each enter that run. */
const ambient = (
  cubby: Cubby,
  context: { workspace?: string; plugin: string; user?: string },
  which: 'store' | 'user',
) => {
  const target = which === 'store' ? store : user
  return {
    get path() {
      return cubby.run(context, () => target.path)
    },
    set: (key: string, value: unknown) => cubby.run(context, () => target.set(key, value)),
  } as unknown as KVStore
}

const ACCESSES: Access[] = [
  ['scope(w,p)', (c) => c.scope('w', 'p'), ['w', 'p']],
  ['scope(w,p,a)', (c) => c.scope('w', 'p', 'a'), ['w', 'p', 'a']],
  ['scope(w,p,a,b)', (c) => c.scope('w', 'p', 'a', 'b'), ['w', 'p', 'a', 'b']],
  ['scope(w,p).scope(a)', (c) => c.scope('w', 'p').scope('a'), ['w', 'p', 'a']],
  ['scope(w,p).scope(a,b)', (c) => c.scope('w', 'p').scope('a', 'b'), ['w', 'p', 'a', 'b']],
  ['scope(w,p).scope(a).scope(b)', (c) => c.scope('w', 'p').scope('a').scope('b'), ['w', 'p', 'a', 'b']],
  ['scope(w,p).scope(b,a)', (c) => c.scope('w', 'p').scope('b', 'a'), ['w', 'p', 'b', 'a']],
  ['scope(w).scope(p).scope(a)', (c) => c.scope('w').scope('p').scope('a'), ['w', 'p', 'a']],
  ['scope(w,a)', (c) => c.scope('w', 'a'), ['w', 'a']],
  ['scope(a)', (c) => c.scope('a'), ['a']],
  ['scope(w,p).user(a)', (c) => c.scope('w', 'p').user('a'), ['w', 'p', '', 'a']],
  ['scope(w,p).user(b)', (c) => c.scope('w', 'p').user('b'), ['w', 'p', '', 'b']],
  ['scope(w,p).user(a).scope(b)', (c) => c.scope('w', 'p').user('a').scope('b'), ['w', 'p', '', 'a', 'b']],
  ['scope(w,p).user(a).scope(a,b)', (c) => c.scope('w', 'p').user('a').scope('a', 'b'), ['w', 'p', '', 'a', 'a', 'b']],
  ['scope(default,p).user(a)', (c) => c.scope('default', 'p').user('a'), ['default', 'p', '', 'a']],
  ['scope(w,a).user(p)', (c) => c.scope('w', 'a').user('p'), ['w', 'a', '', 'p']],
  ['stores(w,p).store', (c) => c.stores({ workspace: 'w', plugin: 'p' }).store, ['w', 'p']],
  ['stores(w,p,a).store', (c) => c.stores({ workspace: 'w', plugin: 'p', user: 'a' }).store, ['w', 'p']],
  ['stores(w,p,a).user', (c) => c.stores({ workspace: 'w', plugin: 'p', user: 'a' }).user!, ['w', 'p', '', 'a']],
  ['stores(w,p,b).user', (c) => c.stores({ workspace: 'w', plugin: 'p', user: 'b' }).user!, ['w', 'p', '', 'b']],
  ['stores(p).store', (c) => c.stores({ plugin: 'p' }).store, ['default', 'p']],
  ['stores(p,a).user', (c) => c.stores({ plugin: 'p', user: 'a' }).user!, ['default', 'p', '', 'a']],
  [
    'stores(default,p,a).user',
    (c) => c.stores({ workspace: 'default', plugin: 'p', user: 'a' }).user!,
    ['default', 'p', '', 'a'],
  ],
  ['stores(p,w,a).user', (c) => c.stores({ workspace: 'p', plugin: 'w', user: 'a' }).user!, ['p', 'w', '', 'a']],
  ['stores(w,a,p).user', (c) => c.stores({ workspace: 'w', plugin: 'a', user: 'p' }).user!, ['w', 'a', '', 'p']],
  ['stores(w,a).store', (c) => c.stores({ workspace: 'w', plugin: 'a' }).store, ['w', 'a']],
  ['run(w,p,a) store', (c) => ambient(c, { workspace: 'w', plugin: 'p', user: 'a' }, 'store'), ['w', 'p']],
  ['run(w,p,a) user', (c) => ambient(c, { workspace: 'w', plugin: 'p', user: 'a' }, 'user'), ['w', 'p', '', 'a']],
  ['run(p,a) user', (c) => ambient(c, { plugin: 'p', user: 'a' }, 'user'), ['default', 'p', '', 'a']],
]

/** Opens each access in order on a fresh cubby (caches bounded by `max`), writing through each and checking the backend. */
async function accessSequence(sequence: readonly Access[], max: number): Promise<void> {
  const cubby = await openCubby({ url: 'memory:' })
  try {
    shrinkCaches(cubby, max)
    const model = new Map<string, Map<string, unknown>>()
    let i = 0
    for (const [label, open, path] of sequence) {
      const view = open(cubby)
      expect([...view.path], label).toEqual(path)
      if (!label.startsWith('run')) expect([...rawScope(view).path], label).toEqual(path)
      await view.set(`k${i}`, label)
      const keys = model.get(pathId(path)) ?? new Map<string, unknown>()
      keys.set(`k${i++}`, label)
      model.set(pathId(path), keys)
    }
    expect(sortedDump(await dump(cubby))).toEqual(modelAsMap(model))
  } finally {
    await cubby.close()
  }
}

describe('context caches: every pair of ways to reach a scope, in both orders', () => {
  it('reach the right scope whatever was cached before, with caches of 1, 2 and 4096 entries', async () => {
    for (const max of [1, 2, MAX_CACHED_CONTEXTS]) {
      for (const first of ACCESSES) for (const second of ACCESSES) await accessSequence([first, second, first], max)
    }
  })

  it('reach the right scope in longer random sequences', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(...ACCESSES), { minLength: 2, maxLength: 12 }),
        fc.constantFrom(1, 2, 3, 5, MAX_CACHED_CONTEXTS),
        accessSequence,
      ),
      { numRuns: 200 },
    )
  })
})

describe('context caches under hostile names (SQLite)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cubby-ctx-model-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('store every write where the model says, as a cubby opened afterwards on the file reads it', async () => {
    let run = 0
    await fc.assert(
      fc.asyncProperty(
        fc.array(command, { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 4 }),
        async (commands, max) => {
          const url = `sqlite:${join(dir, `m${run++}.db`)}`
          const cubby = await openCubby({ url })
          let expected: Map<string, Map<string, unknown>>
          try {
            shrinkCaches(cubby, max)
            let n = 0
            expected = await runModel(cubby, commands, () => fillCaches(cubby, `t${n++}`, max))
          } finally {
            await cubby.close()
          }
          // A fresh cubby on the same file: nothing cached in core or in the backend.
          const fresh = await openCubby({ url })
          try {
            expect(sortedDump(await dump(fresh))).toEqual(expected)
          } finally {
            await fresh.close()
          }
        },
      ),
      { numRuns: 25 },
    )
  })
})

describe('context caches and concurrent runs', () => {
  it('keep each concurrent run on its own user while the caches empty under them', async () => {
    const cubby = await openCubby({ url: 'memory:' })
    shrinkCaches(cubby, 3)
    const ids = ['a', 'b', 'cache', '__proto__', 'p', '😀', '/', 'u']
    const runs = ids.flatMap((id, i) =>
      [0, 1, 2].map((round) =>
        cubby.run({ workspace: 'w', plugin: i % 2 ? 'p' : 'q', user: id }, async () => {
          for (let step = 0; step < 5; step++) {
            await user.incr('n')
            await store.incr(`n:${id}`)
            fillCaches(cubby, `c${i}-${round}-${step}`, 3) // others' names evict this run's entries
            await new Promise((resolve) => setImmediate(resolve))
            expect(user.path).toEqual(['w', i % 2 ? 'p' : 'q', '', id])
          }
        }),
      ),
    )
    await Promise.all(runs)
    for (const [i, id] of ids.entries()) {
      const plugin = i % 2 ? 'p' : 'q'
      expect(await cubby.stores({ workspace: 'w', plugin, user: id }).user!.get('n')).toBe(15)
      expect(await cubby.scope('w', plugin).get(`n:${id}`)).toBe(15)
      expect(await cubby.scope('w', plugin).scope(id).get('n')).toBeUndefined()
    }
    await cubby.close()
  })
})

describe('context caches across cubbies', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cubby-ctx-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('never share contexts between two cubbies (memory): data and closing stay apart', async () => {
    const a = await openCubby({ url: 'memory:' })
    const b = await openCubby({ url: 'memory:' })
    const names = { workspace: 'w', plugin: 'p', user: 'u' }
    const views = (c: Cubby) => [
      c.scope('w', 'p'),
      c.scope('w', 'p').scope('cache'),
      c.scope('w', 'p').user('u'),
      c.stores(names).store,
      c.stores(names).user!,
    ]
    const va = views(a)
    const vb = views(b)
    for (let i = 0; i < va.length; i++) expect(rawScope(va[i]!).path).not.toBe(rawScope(vb[i]!).path)
    for (const view of va) await view.set('k', 'a')
    for (const view of views(b)) expect(await view.get('k')).toBeUndefined()
    await a.close()
    for (const view of views(a)) expect(await rejected(view.get('k'))).toBeInstanceOf(ClosedError)
    for (const view of views(b)) {
      await view.set('k', 'b')
      expect(await view.get('k')).toBe('b')
    }
    expect(await b.run(names, () => user.get('k'))).toBe('b')
    await b.close()
  })

  it('never share contexts between two cubbies on one SQLite file, and store every write where it belongs', async () => {
    const url = `sqlite:${join(dir, 'two.db')}`
    const a = await openCubby({ url })
    const b = await openCubby({ url })
    try {
      const ids = HOSTILE.filter(validName).slice(0, 12) as string[]
      for (const id of ids) {
        await a.scope('w', 'p').scope(id).set('k', `scope:${id}`)
        await b.scope('w', 'p').user(id).set('k', `user:${id}`)
        await a.stores({ workspace: 'w', plugin: id }).store.set('k', `plugin:${id}`)
      }
      overflowCaches(a, 'a')
      for (const id of ids) {
        expect(rawScope(a.scope('w', 'p').user(id)).path).not.toBe(rawScope(b.scope('w', 'p').user(id)).path)
        expect(await b.scope('w', 'p').scope(id).get('k')).toBe(`scope:${id}`)
        expect(await a.stores({ workspace: 'w', plugin: 'p', user: id }).user!.get('k')).toBe(`user:${id}`)
        expect(await b.stores({ workspace: 'w', plugin: id }).store.get('k')).toBe(`plugin:${id}`)
      }
      const real = await dump(b)
      const expected = new Map<string, Map<string, unknown>>()
      for (const id of ids) {
        expected.set(pathId(['w', 'p', id]), new Map([['k', `scope:${id}`]]))
        expected.set(pathId(['w', 'p', USER_LEVEL, id]), new Map([['k', `user:${id}`]]))
        expected.set(pathId(['w', id]), new Map([['k', `plugin:${id}`]]))
      }
      // 'p' is one of the ids: ['w', 'p'] holds its own key as well as the children.
      expect(sortedDump(real)).toEqual(modelAsMap(expected))
      await a.close()
      expect(await rejected(a.scope('w', 'p').get('k'))).toBeInstanceOf(ClosedError)
      expect(await b.scope('w', 'p').get('k')).toBe('plugin:p')
    } finally {
      await a.close()
      await b.close()
    }
  })
})
