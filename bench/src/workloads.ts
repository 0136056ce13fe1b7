import type { Target } from './targets/target.js'
import { keyOf, type ValueShape } from './values.js'

/** One kind of work, run against a target that already holds (or does not yet hold) the data set. */
export interface Workload {
  id: string
  label: string
  /** Whether the timed run writes the data set (so each rep starts from an empty store). */
  writes: boolean
  run(target: Target, keys: string[], values: unknown[]): Promise<unknown>
}

export const WORKLOADS: Workload[] = [
  {
    id: 'seq-set',
    label: 'set, sequential',
    writes: true,
    run: async (t, keys, values) => {
      for (let i = 0; i < keys.length; i++) await t.set(keys[i]!, values[i])
    },
  },
  {
    id: 'seq-get',
    label: 'get, sequential',
    writes: false,
    run: async (t, keys) => {
      for (const key of keys) await t.get(key)
    },
  },
  {
    id: 'par-set',
    label: 'set, Promise.all',
    writes: true,
    run: (t, keys, values) => Promise.all(keys.map((key, i) => t.set(key, values[i]))),
  },
  {
    id: 'par-get',
    label: 'get, Promise.all',
    writes: false,
    run: (t, keys) => Promise.all(keys.map((key) => t.get(key))),
  },
  {
    id: 'set-many',
    label: 'setMany (one call)',
    writes: true,
    run: (t, keys, values) => t.setMany(keys.map((key, i) => [key, values[i]])),
  },
  {
    id: 'get-many',
    label: 'getMany (one call)',
    writes: false,
    run: (t, keys) => t.getMany(keys),
  },
  {
    id: 'list',
    label: 'list, pages of 100',
    writes: false,
    run: async (t, keys) => {
      const count = await t.listAll(100)
      if (count !== keys.length) throw new Error(`${t.name} listed ${count} of ${keys.length} keys`)
    },
  },
]

/** The data set: `n` keys and values of one shape. */
export function dataSet(n: number, shape: ValueShape): { keys: string[]; values: unknown[] } {
  const keys = Array.from({ length: n }, (_, i) => keyOf(i))
  return { keys, values: keys.map((_, i) => shape.make(i)) }
}
