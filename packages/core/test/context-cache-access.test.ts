import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import type { Cubby, KVStore } from '../src/index.js'
import { ClosedError, openCubby, store, user } from '../src/index.js'
import { rawScope } from '../src/raw/index.js'
import { MAX_CACHED_CONTEXTS } from '../src/store/context-cache.js'
import {
  dump,
  fillCaches,
  HOSTILE,
  modelAsMap,
  overflowCaches,
  pathId,
  rejected,
  shrinkCaches,
  sortedDump,
  USER_LEVEL,
  validName,
} from './context-model.js'

/*
 * Adversarial tests of the context caches: every pair of ways to reach a scope, concurrent runs, and two cubbies
 * (see context-cache-adversarial.test.ts for the model-based ones).
 */

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
