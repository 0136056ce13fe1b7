/** Summary of repeated timings of one case. */
export interface Sample {
  /** Median throughput, operations per second. */
  opsPerSec: number
  /** (slowest - fastest) / median of the per-rep throughput, as a fraction: how noisy the figure is. */
  spread: number
  reps: number
}

/**
 * Runs `run` once to warm up, then `reps` times, each preceded by the untimed `before`. Each run performs `ops`
 * operations; the result is the median throughput and the spread.
 */
export async function measure(
  ops: number,
  reps: number,
  run: () => Promise<unknown>,
  before: () => Promise<unknown> = async () => {},
): Promise<Sample> {
  await before()
  await run()
  const rates: number[] = []
  for (let i = 0; i < reps; i++) {
    await before()
    const started = process.hrtime.bigint()
    await run()
    const seconds = Number(process.hrtime.bigint() - started) / 1e9
    rates.push(ops / seconds)
  }
  rates.sort((a, b) => a - b)
  const median = rates[Math.floor(rates.length / 2)]!
  return { opsPerSec: median, spread: (rates[rates.length - 1]! - rates[0]!) / median, reps }
}

/** Runs `fn` for every item with at most `limit` in flight. */
export async function withConcurrency<T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!)
  })
  await Promise.all(lanes)
}
