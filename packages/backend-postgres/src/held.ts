import type pg from 'pg'
import { isConnectionError } from './errors.js'

/**
 * A pooled connection kept while lone reads keep coming (a loop of sequential gets), so each read skips the pool's
 * checkout and release; reads pipeline on it. It goes back to the pool once no read is in flight at the end of an
 * event-loop turn (setImmediate), so writers and other readers have it again at once. A connection error drops it
 * (released with the error: the pool discards it) and the next read checks out another.
 */
export class HeldConnection {
  private client: pg.PoolClient | undefined
  private connecting: Promise<pg.PoolClient> | undefined
  private inFlight = 0
  private checking = false

  constructor(private readonly pool: pg.Pool) {}

  /** Runs one query on the held connection (checking one out first when none is held). */
  query<R extends pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>> {
    const client = this.client
    if (client) return this.run<R>(client, config)
    this.connecting ??= this.pool.connect().then(
      (checkedOut) => {
        this.connecting = undefined
        this.client = checkedOut
        return checkedOut
      },
      (error: unknown) => {
        this.connecting = undefined
        throw error
      },
    )
    return this.connecting.then((checkedOut) => this.run<R>(checkedOut, config))
  }

  private run<R extends pg.QueryResultRow>(client: pg.PoolClient, config: pg.QueryConfig): Promise<pg.QueryResult<R>> {
    this.inFlight++
    return client.query<R>(config).then(
      (result) => {
        this.settled()
        return result
      },
      (error: unknown) => {
        if (isConnectionError(error)) this.giveBack(client, error as Error)
        this.settled()
        throw error
      },
    )
  }

  private settled(): void {
    this.inFlight--
    if (this.inFlight > 0 || this.checking) return
    this.checking = true
    setImmediate(() => {
      this.checking = false
      if (this.inFlight === 0 && this.client) this.giveBack(this.client)
    })
  }

  /** Releases `client` to the pool if it is the one held (once per checkout). */
  private giveBack(client: pg.PoolClient, error?: Error): void {
    if (this.client !== client) return
    this.client = undefined
    client.release(error)
  }
}
