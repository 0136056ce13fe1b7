import { createHash } from 'node:crypto'
import type { Connection } from './connection.js'
import { CLEAR, LIST, SWEEP } from './lua/read.js'
import { WRITE } from './lua/write.js'

/** A Lua script called by SHA; loaded on first use and again after NOSCRIPT (a restarted or flushed server). */
export class Script {
  readonly sha: string

  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex')
  }

  /** Runs the script with one key (which routes it on a cluster) and `args`. */
  async run(connection: Connection, key: string, args: Array<string | Buffer>): Promise<unknown> {
    const call = ['EVALSHA', this.sha, '1', key, ...args]
    try {
      return await connection.send(key, call)
    } catch (error) {
      if (!String((error as Error)?.message).startsWith('NOSCRIPT')) throw error
      await connection.send(key, ['SCRIPT', 'LOAD', this.source])
      return connection.send(key, call)
    }
  }
}

/** The scripts of the backend. */
export const SCRIPTS = {
  write: new Script(WRITE),
  list: new Script(LIST),
  sweep: new Script(SWEEP),
  clear: new Script(CLEAR),
}
