import type { Cubby, Entry, KeyInfo, KVStore, ListOptions, ListPage } from '@cubby/core'
import fc from 'fast-check'
import { expect } from 'vitest'
import type { FakeClock } from './harness.js'
import type { ModelEntry, ModelStep, ReferenceModel } from './model.js'

/** The system under test of one model run: a cubby, its clock, and the base path the run's scopes live under. */
export interface Real {
  cubby: Cubby
  clock: FakeClock
  base: string[]
}

/** A model command. */
export type Command = fc.AsyncCommand<ReferenceModel, Real>

/** Which optional parts of the API the commands may use. */
export interface CommandOptions {
  /** Give writes TTLs and advance the clock. */
  ttl: boolean
  /** Compare `usage()` with the model. */
  usage: boolean
}

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
  fc.constant({ constructor: 'c', at: new Date(0) }),
)
/** How a conditional write names the version it expects. */
const modeArb = fc.constantFrom('current', 'stale', 'null') as fc.Arbitrary<'current' | 'stale' | 'null'>

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

const at = (real: Real, path: string[]): KVStore => real.cubby.scope(...real.base, ...path)
const show = (v: unknown) => (v instanceof Uint8Array ? `bytes(${v.length})` : (JSON.stringify(v) ?? String(v)))
const codeOf = (error: { code?: string }) => error.code ?? String(error)

/** Checks a read entry against the model's (value, expiry, version). */
function checkEntry(model: ReferenceModel, path: string[], entry: Entry | undefined, expected: ModelEntry | undefined) {
  if (expected === undefined) {
    expect(entry).toBeUndefined()
    return
  }
  expect(entry).toBeDefined()
  expect(entry!.value).toStrictEqual(expected.value)
  expect(entry!.expiresAt).toBe(expected.expiresAt)
  model.observed(path, entry!.key, entry!.version)
}

/**
 * The version a conditional write sends for `mode`, learning the current one with `getEntry` when the model does
 * not know it; `undefined` for 'stale' when no older version of the key was ever seen.
 */
async function versionFor(
  model: ReferenceModel,
  real: Real,
  path: string[],
  key: string,
  mode: 'current' | 'stale' | 'null',
): Promise<string | null | undefined> {
  const live = model.live(path, key)
  if (live && live.version === undefined) checkEntry(model, path, await at(real, path).getEntry(key), live)
  if (mode === 'null') return null
  if (mode === 'current') return live ? live.version! : null
  return [...model.seen(path, key)].find((version) => version !== live?.version)
}

const ttlOf = (withTtl: boolean) =>
  withTtl ? fc.option(fc.integer({ min: 1, max: 3000 }), { nil: undefined }) : fc.constant(undefined)

/** Commands that write. */
function writes(withTtl: boolean): fc.Arbitrary<Command>[] {
  const ttlArb = ttlOf(withTtl)
  return [
    fc.tuple(pathArb, keyArb, valueArb, ttlArb).map(([path, key, value, ttl]) =>
      command(`set(${show(path)}, ${show(key)}, ${show(value)}, ttl=${ttl})`, async (model, real) => {
        const version = await at(real, path).set(key, value, ttl === undefined ? {} : { ttl })
        model.set(path, key, value, ttl, model.written(path, key, version))
      }),
    ),
    fc.tuple(pathArb, keyArb, valueArb, modeArb).map(([path, key, value, mode]) =>
      command(`set(${show(path)}, ${show(key)}, ${show(value)}, ifVersion=${mode})`, async (model, real) => {
        const ifVersion = await versionFor(model, real, path, key, mode)
        if (ifVersion === undefined) return
        const succeeds = (model.live(path, key)?.version ?? null) === ifVersion
        const outcome = await at(real, path)
          .set(key, value, { ifVersion })
          .catch((error: { code?: string }) => ({ code: codeOf(error) }))
        if (!succeeds) {
          expect(outcome).toEqual({ code: 'CONFLICT' })
          return
        }
        model.set(path, key, value, undefined, model.written(path, key, outcome))
      }),
    ),
    fc.tuple(pathArb, keyArb, fc.option(modeArb, { nil: undefined })).map(([path, key, mode]) =>
      command(`delete(${show(path)}, ${show(key)}, ifVersion=${mode})`, async (model, real) => {
        const ifVersion = mode === undefined ? undefined : await versionFor(model, real, path, key, mode)
        if (mode !== undefined && ifVersion === undefined) return
        const store = at(real, path)
        if (ifVersion === undefined) {
          expect(await store.delete(key)).toBe(model.delete(path, key))
          return
        }
        const succeeds = (model.live(path, key)?.version ?? null) === ifVersion
        const outcome = await store.delete(key, { ifVersion }).catch((error: { code?: string }) => codeOf(error))
        expect(outcome).toBe(succeeds ? model.delete(path, key) : 'CONFLICT')
      }),
    ),
    fc.tuple(pathArb, keyArb, fc.integer({ min: -5, max: 5 }), ttlArb).map(([path, key, by, ttl]) =>
      command(`incr(${show(path)}, ${show(key)}, ${by}, ttl=${ttl})`, async (model, real) => {
        const expected = model.incr(path, key, by, ttl)
        const outcome = await at(real, path)
          .incr(key, by, ttl === undefined ? {} : { ttl })
          .catch((error: { code?: string }) => codeOf(error))
        expect(outcome).toBe(expected)
      }),
    ),
    fc
      .tuple(pathArb, keyArb, fc.constantFrom('wrap', 'replace', 'delete'), valueArb, ttlArb)
      .map(([path, key, kind, value, ttl]) =>
        command(`update(${show(path)}, ${show(key)}, ${kind}, ttl=${ttl})`, async (model, real) => {
          const next = (current: unknown) =>
            kind === 'delete' ? undefined : kind === 'replace' ? value : { previous: current ?? null }
          const expected = next(model.get(path, key))
          const result = await at(real, path).update(key, next, ttl === undefined ? {} : { ttl })
          expect(result).toStrictEqual(expected)
          model.update(path, key, expected, ttl)
        }),
      ),
    fc.tuple(pathArb, fc.array(fc.tuple(keyArb, valueArb), { maxLength: 5 }), ttlArb).map(([path, entries, ttl]) =>
      command(`setMany(${show(path)}, [${entries.map(([k]) => show(k))}], ttl=${ttl})`, async (model, real) => {
        await at(real, path).setMany(entries, ttl === undefined ? {} : { ttl })
        for (const [key, value] of entries) model.set(path, key, value, ttl) // duplicates: the last one wins
      }),
    ),
    fc.tuple(pathArb, fc.array(keyArb, { maxLength: 5 })).map(([path, keys]) =>
      command(`deleteMany(${show(path)}, [${keys.map(show)}])`, async (model, real) => {
        const expected = keys.filter((key) => model.delete(path, key)).length // a repeated key counts once
        expect(await at(real, path).deleteMany(keys)).toBe(expected)
      }),
    ),
    fc.tuple(pathArb, fc.array(stepArb(withTtl), { minLength: 1, maxLength: 6 })).map(([path, steps]) =>
      command(
        `atomic(${show(path)}, ${steps.map((s) => `${s.kind}:${show(s.key)}`).join(' ')})`,
        async (model, real) => {
          const resolved: ModelStep[] = []
          let batch = at(real, path).atomic()
          for (const step of steps) {
            if (step.kind === 'check') {
              const version = await versionFor(model, real, path, step.key, step.mode)
              if (version === undefined) continue
              resolved.push({ kind: 'check', key: step.key, version })
              batch = batch.check(step.key, version)
            } else if (step.kind === 'set') {
              resolved.push(step)
              batch = batch.set(step.key, step.value, step.ttl === undefined ? {} : { ttl: step.ttl })
            } else if (step.kind === 'delete') {
              resolved.push(step)
              batch = batch.delete(step.key)
            } else {
              resolved.push(step)
              batch = batch.incr(step.key, step.by, step.ttl === undefined ? {} : { ttl: step.ttl })
            }
          }
          const expected = model.atomic(path, resolved)
          const outcome = await batch.commit().catch((error: { code?: string }) => codeOf(error))
          if (expected === 'INVALID_VALUE' || !expected.ok) {
            expect(outcome).toEqual(expected)
            return
          }
          expect(outcome).toMatchObject({ ok: true })
          const { versions } = outcome as { versions: Record<string, string> }
          expect(Object.keys(versions).sort()).toEqual([...expected.stored].sort())
          for (const key of expected.stored) model.live(path, key)!.version = model.written(path, key, versions[key])
        },
      ),
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
  ]
}

type Step =
  | { kind: 'check'; key: string; mode: 'current' | 'stale' | 'null' }
  | { kind: 'set'; key: string; value: unknown; ttl?: number }
  | { kind: 'delete'; key: string }
  | { kind: 'incr'; key: string; by: number; ttl?: number }

/** One step of an atomic batch; few keys, so batches often touch one key several times. */
function stepArb(withTtl: boolean): fc.Arbitrary<Step> {
  const key = fc.constantFrom('k', 'k2', '😀')
  const ttl = ttlOf(withTtl)
  return fc.oneof(
    fc.record({ kind: fc.constant('check' as const), key, mode: modeArb }),
    fc
      .tuple(key, valueArb, ttl)
      .map(([k, value, t]): Step => ({ kind: 'set', key: k, value, ...(t === undefined ? {} : { ttl: t }) })),
    fc.record({ kind: fc.constant('delete' as const), key }),
    fc
      .tuple(key, fc.integer({ min: -3, max: 3 }), ttl)
      .map(([k, by, t]): Step => ({ kind: 'incr', key: k, by, ...(t === undefined ? {} : { ttl: t }) })),
  )
}

/** Commands that read. */
function reads(): fc.Arbitrary<Command>[] {
  return [
    fc.tuple(pathArb, keyArb).map(([path, key]) =>
      command(`get(${show(path)}, ${show(key)})`, async (model, real) => {
        expect(await at(real, path).get(key)).toStrictEqual(model.get(path, key))
        expect(await at(real, path).has(key)).toBe(model.has(path, key))
      }),
    ),
    fc.tuple(pathArb, keyArb).map(([path, key]) =>
      command(`getEntry(${show(path)}, ${show(key)})`, async (model, real) => {
        checkEntry(model, path, await at(real, path).getEntry(key), model.live(path, key))
      }),
    ),
    fc.tuple(pathArb, fc.array(keyArb, { maxLength: 5 })).map(([path, keys]) =>
      command(`getMany(${show(path)}, [${keys.map(show)}])`, async (model, real) => {
        expect(await at(real, path).getMany(keys)).toStrictEqual(keys.map((key) => model.get(path, key)))
      }),
    ),
    fc
      .tuple(pathArb, fc.boolean(), fc.option(fc.constantFrom('k', 'a', '😀', ''), { nil: undefined }))
      .map(([path, reverse, prefix]) =>
        command(`list(${show(path)}, reverse=${reverse}, prefix=${show(prefix)})`, async (model, real) => {
          const { entries, cursor } = await at(real, path).list({
            reverse,
            limit: 1000,
            ...(prefix !== undefined && { prefix }),
          })
          expect(cursor).toBeUndefined()
          expect(entries.map((e) => [e.key, e.value])).toStrictEqual(
            model.list(path, reverse, prefix).map(([key, entry]) => [key, entry.value]),
          )
        }),
      ),
    fc
      .tuple(pathArb, fc.boolean(), fc.integer({ min: 1, max: 4 }), fc.boolean())
      .map(([path, reverse, limit, values]) =>
        command(`list pages(${show(path)}, reverse=${reverse}, limit=${limit})`, async (model, real) => {
          const expected = model.list(path, reverse)
          let cursor: string | undefined
          let offset = 0
          do {
            const page = (await at(real, path).list({ reverse, limit, cursor, values } as ListOptions & {
              values: true
            })) as ListPage<Entry | KeyInfo>
            const slice = expected.slice(offset, offset + limit)
            expect(page.entries.map((e) => e.key)).toEqual(slice.map(([key]) => key))
            for (const [i, entry] of page.entries.entries()) {
              if (values) expect((entry as Entry).value).toStrictEqual(slice[i]![1].value)
              else expect('value' in entry).toBe(false)
              expect(entry.expiresAt).toBe(slice[i]![1].expiresAt)
              model.observed(path, entry.key, entry.version)
            }
            offset += page.entries.length
            cursor = page.cursor
            expect(cursor !== undefined, 'a cursor exactly while more remain').toBe(offset < expected.length)
          } while (cursor)
          expect(offset).toBe(expected.length)
        }),
      ),
    pathArb.map((path) =>
      command(`scopes(${show(path)})`, async (model, real) => {
        expect((await at(real, path).scopes({ limit: 1000 })).names).toEqual(model.childScopes(path))
      }),
    ),
  ]
}

/** Every command the options allow. */
export function commands(options: CommandOptions): fc.Arbitrary<Command>[] {
  const list = [...writes(options.ttl), ...reads()]
  if (options.ttl) {
    list.push(
      fc.integer({ min: 1, max: 2000 }).map((ms) =>
        command(`advance(${ms})`, async (_model, real) => {
          real.clock.advance(ms)
        }),
      ),
    )
  }
  if (options.usage) {
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
