import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { InvalidKeyError, InvalidScopeError, openCubby, user } from '../src/index.js'
import {
  command,
  dump,
  fillCaches,
  HOSTILE,
  overflowCaches,
  pathId,
  rejected,
  runModel,
  shrinkCaches,
  sortedDump,
  thrown,
  USER_LEVEL,
  validName,
} from './context-model.js'

/*
 * Adversarial tests of the context caches (`ContextCache` behind stores()/run(), `ChildContexts` behind scope() and
 * user()): hostile names, every order, eviction in the middle of a walk, and the real stored state checked against
 * an independent model (every scope of the backend walked with `@cubby/core/raw`).
 */

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
