/** Something in flight, failed by the ticker once its deadline passes. */
interface Waiting {
  deadline: number
  expire(): void
}

/**
 * Deadlines for everything a backend (or core, for backends that do not bound their calls) has in flight, checked
 * by one timer that runs only while something waits: a call costs one Set entry, not a timer or an extra promise.
 * Every entry waits the same `ms`, so entries expire in the order they were added.
 */
export class Deadlines {
  private readonly waiting = new Set<Waiting>()
  private ticker: NodeJS.Timeout | undefined

  /** @param ms How long each wait lasts. */
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

  /** Stops the timer; it starts again with the next wait. Waits in progress expire only once it runs again. */
  stop(): void {
    clearInterval(this.ticker)
    this.ticker = undefined
  }

  private tick(): void {
    const now = Date.now()
    for (const entry of this.waiting) {
      if (entry.deadline > now) break // in deadline order: all share `ms`
      this.waiting.delete(entry)
      entry.expire()
    }
    if (this.waiting.size === 0) this.stop()
  }
}
