import type { Cubby } from '@cubby/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type FakeClock, setup } from '../harness.js'
import { ReferenceModel } from '../model.js'
import type { ConformanceTarget } from '../target.js'

interface Real {
  cubby: Cubby
  clock: FakeClock
  base: string[]
}

type Command = fc.AsyncCommand<ReferenceModel, Real>

const PATHS: string[][] = [[], ['a'], ['a', 'b'], ['a', 'b', 'c'], ['ab'], ['b'], ['a', '😀']]
const KEYS = ['k', 'k2', 'K', 'é', '\uE000', '😀', 'a/b', '%', 'k\u0000']
const pathArb = fc.constantFrom(...PATHS)
const keyArb = fc.constantFrom(...KEYS)
const valueArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.string({ maxLength: 20 }),
  fc.constant(null),
  fc.boolean(),
  fc.record({ x: fc.integer(), s: fc.string({ maxLength: 5 }) }, { noNullPrototype: true }), // null-prototype objects read back as plain ones
  fc.date({ noInvalidDate: true }),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.uint8Array({ maxLength: 8 }),
)
const ttlArb = fc.option(fc.integer({ min: 1, max: 3000 }), { nil: undefined })

/** A command: its name for shrunk counterexamples, and what it does to model and backend. */
function command(name: string, run: (model: ReferenceModel, real: Real) => Promise<void>): Command {
  return {
    check: () => true,
    run: async (model, real) => {
      model.now = real.clock.now()
      await run(model, real)
    },
    toString: () => name,
  }
}

const at = (real: Real, path: string[]) => real.cubby.scope(...real.base, ...path)
const show = (v: unknown) => (v instanceof Uint8Array ? `bytes(${v.length})` : (JSON.stringify(v) ?? String(v)))

function commands(withTtl: boolean, withUsage: boolean): fc.Arbitrary<Command>[] {
  const list: fc.Arbitrary<Command>[] = [
    fc.tuple(pathArb, keyArb, valueArb, withTtl ? ttlArb : fc.constant(undefined)).map(([path, key, value, ttl]) =>
      command(`set(${show(path)}, ${show(key)}, ${show(value)}, ttl=${ttl})`, async (model, real) => {
        await at(real, path).set(key, value, ttl === undefined ? {} : { ttl })
        model.set(path, key, value, ttl)
      }),
    ),
    fc.tuple(pathArb, keyArb).map(([path, key]) =>
      command(`get(${show(path)}, ${show(key)})`, async (model, real) => {
        expect(await at(real, path).get(key)).toStrictEqual(model.get(path, key))
        expect(await at(real, path).has(key)).toBe(model.has(path, key))
      }),
    ),
    fc.tuple(pathArb, keyArb).map(([path, key]) =>
      command(`delete(${show(path)}, ${show(key)})`, async (model, real) => {
        expect(await at(real, path).delete(key)).toBe(model.delete(path, key))
      }),
    ),
    fc.tuple(pathArb, keyArb, fc.integer({ min: -5, max: 5 })).map(([path, key, by]) =>
      command(`incr(${show(path)}, ${show(key)}, ${by})`, async (model, real) => {
        const expected = model.incr(path, key, by)
        const outcome = await at(real, path)
          .incr(key, by)
          .catch((error: { code?: string }) => error.code)
        expect(outcome).toBe(expected === undefined ? 'INVALID_VALUE' : expected)
      }),
    ),
    fc
      .tuple(pathArb, fc.boolean(), fc.option(fc.constantFrom('k', 'a', '😀', ''), { nil: undefined }))
      .map(([path, reverse, prefix]) =>
        command(`list(${show(path)}, reverse=${reverse}, prefix=${show(prefix)})`, async (model, real) => {
          const { entries } = await at(real, path).list({
            reverse,
            limit: 1000,
            ...(prefix !== undefined && { prefix }),
          })
          expect(entries.map((e) => [e.key, e.value])).toStrictEqual(model.list(path, reverse, prefix))
        }),
      ),
    fc
      .tuple(pathArb, fc.uniqueArray(fc.tuple(keyArb, valueArb), { maxLength: 4, selector: ([k]) => k }))
      .map(([path, entries]) =>
        command(`setMany(${show(path)}, ${entries.length} entries)`, async (model, real) => {
          await at(real, path).setMany(entries)
          for (const [key, value] of entries) model.set(path, key, value)
        }),
      ),
    pathArb.map((path) =>
      command(`clear(${show(path)})`, async (model, real) => {
        expect(await at(real, path).clear()).toBe(model.clear(path))
      }),
    ),
    pathArb.map((path) =>
      command(`drop(${show(path)})`, async (model, real) => {
        await at(real, path).drop()
        model.drop(path)
      }),
    ),
    pathArb.map((path) =>
      command(`scopes(${show(path)})`, async (model, real) => {
        expect((await at(real, path).scopes({ limit: 1000 })).names).toEqual(model.childScopes(path))
      }),
    ),
  ]
  if (withTtl) {
    list.push(
      fc.integer({ min: 1, max: 2000 }).map((ms) =>
        command(`advance(${ms})`, async (_model, real) => {
          real.clock.advance(ms)
        }),
      ),
    )
  }
  if (withUsage) {
    list.push(
      pathArb.map((path) =>
        command(`usage(${show(path)})`, async (model, real) => {
          expect(await at(real, path).usage()).toEqual(model.usage(path))
        }),
      ),
    )
  }
  return list
}

export function modelGroup(target: ConformanceTarget, options: { ttl: boolean; usage: boolean }): void {
  describe('model-based: random operation sequences agree with a reference model', () => {
    it(`matches the model${options.usage ? ', usage() included' : ''}${options.ttl ? ', with expiry' : ''}`, async () => {
      const { cubby, clock } = await setup(target)
      let run = 0
      await fc.assert(
        fc.asyncProperty(fc.commands(commands(options.ttl, options.usage), { maxCommands: 40 }), async (cmds) => {
          const base = ['model', String(run++)]
          const model = new ReferenceModel()
          await fc.asyncModelRun(() => ({ model, real: { cubby, clock, base } }), cmds)
          if (options.usage) {
            model.now = clock.now()
            expect(await cubby.scope(...base).usage()).toEqual(model.usage([]))
          }
        }),
        { numRuns: 40 },
      )
    })
  })
}
