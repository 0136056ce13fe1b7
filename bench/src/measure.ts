/** Summary of repeated timings of one case. */
export interface Sample {
  /** Median throughput, operations per second. */
  opsPerSec: number
  /** (slowest - fastest) / median of the per-rep throughput, as a fraction: how noisy the figure is. */
  spread: number
  reps: number
}

/** One contender of `measureAlternating`: the timed run, and untimed work before each run. */
export interface Contender {
  run: () => Promise<unknown>
  before?: () => Promise<unknown>
}

/**
 * `measure` for several contenders at once: each warms up once, then the reps alternate between them (A, B, C, A,
 * B, C, …), so a change of machine load during the case falls on all of them rather than on whichever ran then.
 */
export async function measureAlternating(ops: number, reps: number, contenders: Contender[]): Promise<Sample[]> {
  const rates = contenders.map(() => [] as number[])
  for (const contender of contenders) {
    await contender.before?.()
    await contender.run()
  }
  for (let i = 0; i < reps; i++) {
    for (const [c, contender] of contenders.entries()) {
      await contender.before?.()
      const started = process.hrtime.bigint()
      await contender.run()
      rates[c]!.push(ops / (Number(process.hrtime.bigint() - started) / 1e9))
    }
  }
  return rates.map((list) => {
    list.sort((a, b) => a - b)
    const median = list[Math.floor(list.length / 2)]!
    return { opsPerSec: median, spread: (list[list.length - 1]! - list[0]!) / median, reps }
  })
}

/** Runs `fn` for every item with at most `limit` in flight. */
export async function withConcurrency<T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!)
  })
  await Promise.all(lanes)
}
