import { Codec } from '@cubby/core'
import { SuperJSON } from 'superjson'
import { measure, type Sample } from './measure.js'
import type { ValueShape } from './values.js'

/** Encode+decode throughput of Cubby's codec, JSON and superjson on one value shape. */
export async function codecBench(shape: ValueShape, n: number, reps: number): Promise<Record<string, Sample>> {
  const codec = new Codec()
  const superjson = new SuperJSON()
  const values = Array.from({ length: n }, (_, i) => shape.make(i))
  const loop = (fn: (value: unknown) => unknown) => async () => {
    for (const value of values) fn(value)
  }
  return {
    'JSON.stringify+parse': await measure(
      n,
      reps,
      loop((v) => JSON.parse(JSON.stringify(v))),
    ),
    'cubby codec': await measure(
      n,
      reps,
      loop((v) => codec.decode(codec.encode(v))),
    ),
    superjson: await measure(
      n,
      reps,
      loop((v) => superjson.parse(superjson.stringify(v))),
    ),
  }
}
