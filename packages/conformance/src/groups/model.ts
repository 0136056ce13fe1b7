import fc from 'fast-check'
import { describe, expect } from 'vitest'
import { type Capabilities, type Capability, gatedIt } from '../gate.js'
import { setup } from '../harness.js'
import { ReferenceModel } from '../model.js'
import { type CommandOptions, commands } from '../model-commands.js'
import type { ConformanceTarget } from '../target.js'

/** Runs and commands per model test (sequence lengths spread evenly up to the maximum): small, so the four tests together stay quick on networked backends. */
const NUM_RUNS = 25
const MAX_COMMANDS = 40

/** One model-based property: random command sequences, each on fresh scopes, must agree with the model. */
async function runModel(target: ConformanceTarget, options: CommandOptions): Promise<void> {
  const { cubby, clock } = await setup(target)
  let run = 0
  await fc.assert(
    fc.asyncProperty(fc.commands(commands(options), { maxCommands: MAX_COMMANDS, size: 'max' }), async (cmds) => {
      const base = ['model', String(run++)]
      const model = new ReferenceModel()
      await fc.asyncModelRun(() => ({ model, real: { cubby, clock, base } }), cmds)
      if (options.usage) {
        model.now = clock.now()
        expect(await cubby.scope(...base).usage()).toEqual(model.usage([]))
      }
    }),
    { numRuns: NUM_RUNS },
  )
}

const VARIANTS: Array<{ name: string; needs: Capability[]; options: CommandOptions }> = [
  { name: 'matches the model', needs: [], options: { ttl: false, usage: false } },
  { name: 'matches the model, with expiry', needs: ['ttl'], options: { ttl: true, usage: false } },
  { name: 'matches the model, usage() included', needs: ['quotas'], options: { ttl: false, usage: true } },
  {
    name: 'matches the model, usage() included, with expiry',
    needs: ['ttl', 'quotas'],
    options: { ttl: true, usage: true },
  },
]

/**
 * Model-based tests: fast-check command sequences over set (plain and with ifVersion), get, getEntry (versions and
 * expiry), getMany, delete (plain and with ifVersion), incr (with ttl), update, setMany and deleteMany (with repeated
 * keys), atomic (checks, sets, deletes and incrs, often on one key), list (whole and paged by cursor), clear, drop,
 * scopes, clock advances and usage(), compared with a reference model after every step.
 */
export function modelGroup(target: ConformanceTarget, capabilities: Capabilities): void {
  describe('model-based: random operation sequences agree with a reference model', () => {
    for (const variant of VARIANTS) {
      gatedIt(capabilities, variant.needs, variant.name, () => runModel(target, variant.options))
    }
  })
}
