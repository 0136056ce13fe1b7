import { Codec } from '@cubby/core'
import { SuperJSON } from 'superjson'
import { measureAlternating, type Sample } from './measure.js'
import type { ValueShape } from './values.js'

/** Encode+decode throughput of Cubby's codec, JSON and superjson on one value shape. */
export async function codecBench(shape: ValueShape, n: number, reps: number): Promise<Record<string, Sample>> {
  const codec = new Codec()
  const superjson = new SuperJSON()
  const values = Array.from({ length: n }, (_, i) => shape.make(i))
  const loop = (fn: (value: unknown) => unknown) => async () => {
    for (const value of values) fn(value)
  }
  // Alternating reps, so a change of load weighs on the three alike.
  const [json, cubby, sj] = await measureAlternating(n, reps, [
    { run: loop((v) => JSON.parse(JSON.stringify(v))) },
    { run: loop((v) => codec.decode(codec.encode(v))) },
    { run: loop((v) => superjson.parse(superjson.stringify(v))) },
  ])
  return { 'JSON.stringify+parse': json!, 'cubby codec': cubby!, superjson: sj! }
}
