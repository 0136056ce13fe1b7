/** Something waiting on Redis, failed by the ticker once its deadline passes. */
export interface Waiting {
  deadline: number
  expire(): void
}

/**
 * Deadlines for everything in flight, checked by one timer (running only while something waits): a batch of
 * writes or reads costs one Set entry, not a timer or an extra promise per call.
 */
export class Deadlines {
  private readonly waiting = new Set<Waiting>()
  private ticker: NodeJS.Timeout | undefined

  constructor(readonly ms: number) {}

  /** Calls `expire` once `ms` passed, unless `done` (the returned function) is called first. */
  start(expire: () => void): () => void {
    const entry: Waiting = { deadline: Date.now() + this.ms, expire }
    this.waiting.add(entry)
    if (!this.ticker) {
      this.ticker = setInterval(() => this.tick(), Math.max(10, Math.min(500, Math.floor(this.ms / 10))))
      this.ticker.unref()
    }
    return () => this.waiting.delete(entry)
  }

  /** Settles like `promise`, or rejects with `error()` once `ms` passed. */
  bound<T>(promise: Promise<T>, error: () => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const done = this.start(() => reject(error()))
      promise.then(
        (value) => {
          done()
          resolve(value)
        },
        (failure: unknown) => {
          done()
          reject(failure)
        },
      )
    })
  }

  stop(): void {
    clearInterval(this.ticker)
    this.ticker = undefined
  }

  private tick(): void {
    const now = Date.now()
    for (const entry of this.waiting) {
      if (entry.deadline > now) break // entries are in deadline order: all share `ms`
      this.waiting.delete(entry)
      entry.expire()
    }
    if (this.waiting.size === 0) this.stop()
  }
}
