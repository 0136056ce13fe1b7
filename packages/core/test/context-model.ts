import fc from 'fast-check'
import { expect } from 'vitest'
import { engineOf } from '../src/cubby.js'
import type { Cubby, KVStore } from '../src/index.js'
import { InvalidKeyError, InvalidScopeError, store, user } from '../src/index.js'
import { rawScope, rawScopeAt } from '../src/raw/index.js'
import { MAX_CACHED_CONTEXTS } from '../src/store/context-cache.js'

/** Shared model and helpers of the context-cache adversarial tests (context-cache-*.test.ts). */

export const MAX_KEY_BYTES = 1024
export const USER_LEVEL = ''

/** Names a plugin or a person could pass, valid or not, including ones equal to names cached elsewhere. */
export const HOSTILE: readonly unknown[] = [
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
export function validName(name: unknown): name is string {
  return typeof name === 'string' && name.length > 0 && name.isWellFormed() && Buffer.byteLength(name) <= MAX_KEY_BYTES
}

export function isUserPath(path: readonly string[]): boolean {
  return path.length >= 4 && path[2] === USER_LEVEL
}

export function visibleDepth(path: readonly string[]): number {
  return isUserPath(path) ? path.length - 1 : path.length
}

export function isPlugin(path: readonly string[]): boolean {
  return path.length === 2
}

export const pathId = (path: readonly string[]) => JSON.stringify(path)

/** Every live entry of the backend, by storage path, read through the raw layer (not through the views). */
export async function dump(cubby: Cubby): Promise<Map<string, Map<string, unknown>>> {
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

export function modelAsMap(model: Map<string, Map<string, unknown>>): Map<string, Map<string, unknown>> {
  const out = new Map<string, Map<string, unknown>>()
  for (const [path, keys] of model) if (keys.size > 0) out.set(path, new Map([...keys].sort()))
  return out
}

export function sortedDump(real: Map<string, Map<string, unknown>>): Map<string, Map<string, unknown>> {
  const out = new Map<string, Map<string, unknown>>()
  for (const [path, keys] of real) out.set(path, new Map([...keys].sort()))
  return out
}

/** What the call threw synchronously, or undefined. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  return undefined
}

export async function rejected(promise: Promise<unknown>): Promise<unknown> {
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
export function shrinkCaches(cubby: Cubby, max: number): void {
  const engine = engineOf(cubby)! as unknown as Record<string, Record<string, unknown>>
  // The bound is the caches' constructor parameter `max`: make sure it is still there, or this would shrink nothing.
  expect(engine.scopeChildren!.max).toBe(MAX_CACHED_CONTEXTS)
  engine.scopeChildren!.max = max
  engine.userChildren!.max = max
  ;(cubby as unknown as Record<string, Record<string, unknown>>).resolved!.max = max
}

/** Pushes every cache of `cubby` past `count` entries through the public API, so each one empties. */
export function fillCaches(cubby: Cubby, tag: string, count: number): void {
  const plugin = cubby.scope('fill', tag)
  for (let i = 0; i <= count; i++) {
    plugin.scope(`s${i}`)
    plugin.user(`u${i}`)
    cubby.stores({ workspace: 'fill', plugin: tag, user: `r${i}` })
  }
}

/** Pushes every cache of `cubby` past its real bound (MAX_CACHED_CONTEXTS). */
export function overflowCaches(cubby: Cubby, tag: string): void {
  fillCaches(cubby, tag, MAX_CACHED_CONTEXTS)
}

export interface Handle {
  view: KVStore
  path: string[]
}

export type Command =
  | { kind: 'scope'; from: number; segments: unknown[] }
  | { kind: 'rootScope'; segments: unknown[] }
  | { kind: 'user'; from: number; id: unknown }
  | { kind: 'stores'; workspace: unknown; hasWorkspace: boolean; plugin: unknown; user: unknown; hasUser: boolean }
  | { kind: 'run'; workspace: unknown; plugin: unknown; user: unknown; key: unknown; value: number }
  | { kind: 'set'; from: number; key: unknown; value: number }
  | { kind: 'delete'; from: number; key: unknown }
  | { kind: 'check'; from: number }
  | { kind: 'evict' }

export const name = fc.constantFrom(...HOSTILE)
export const mostlyValid = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('a', 'b', 'cache', 'p', 'u', '__proto__', '/', '😀') },
  { weight: 1, arbitrary: name },
)
export const handleIndex = fc.nat({ max: 1000 })
export const command: fc.Arbitrary<Command> = fc.oneof(
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
export async function runModel(
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
