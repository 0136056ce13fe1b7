import type { Arg, Connection } from './connection.js'
import { isConnectionLoss } from './errors.js'
import { type FunctionName, type LibrarySource, librarySource } from './lua/library.js'

/**
 * Loads the library on the server, or on every cluster master — not only the one a call went to: during a slot
 * migration a call may be redirected (ASK) to a master that has never run one. A library already there is fine.
 */
export async function loadLibrary(connection: Connection, library: LibrarySource): Promise<void> {
  const loads = await connection.everyMaster(['FUNCTION', 'LOAD', library.source], true)
  const failed = loads.find(
    (load) => load.status === 'rejected' && !/already exists/i.test(String((load.reason as Error)?.message)),
  )
  // A master that is down does not matter now; one that refuses (e.g. no permission) does.
  if (failed?.status === 'rejected' && !isConnectionLoss(failed.reason)) throw failed.reason
}

/**
 * One function of the library, called with FCALL. The library is loaded at open, and again whenever a server
 * answers that it does not know the function: a restarted server without persistence, FUNCTION FLUSH, a new
 * cluster master. (FUNCTION LOAD is replicated, so a promoted replica has it already.)
 */
export class Script {
  constructor(
    private readonly library: LibrarySource,
    readonly name: string,
  ) {}

  /** Runs the function with `keys` (the first routes it on a cluster) and `args`. */
  run(connection: Connection, keys: readonly string[], args: readonly Arg[]): Promise<unknown> {
    const call: Arg[] = new Array(CALL_HEAD + keys.length + args.length)
    let at = CALL_HEAD
    for (const key of keys) call[at++] = key
    for (const arg of args) call[at++] = arg
    return this.send(connection, keys[0]!, call, keys.length)
  }

  /**
   * Runs the function on a command laid out by the caller: `call` holds its KEYS (`keys` of them) and then its ARGV
   * from index CALL_HEAD on; the first CALL_HEAD slots are for `FCALL name numkeys`, filled here. One array, built
   * once, that the driver encodes as it is.
   */
  send(connection: Connection, route: string, call: Arg[], keys: number): Promise<unknown> {
    return this.sendThen(connection, route, call, keys, pass, fail)
  }

  /**
   * `send(…).then(onReply, onError)` without the promise in between (one microtask less before `onReply` runs, on
   * the path of every awaited write): a missing function is loaded and the call sent again first.
   */
  sendThen<T>(
    connection: Connection,
    route: string,
    call: Arg[],
    keys: number,
    onReply: (reply: unknown) => T,
    onError: (error: unknown) => T,
  ): Promise<T> {
    call[0] = 'FCALL'
    call[1] = this.name
    call[2] = String(keys)
    return connection.send(route, call).then(onReply, (error: unknown) => {
      if (!/Function not found/i.test(String((error as Error)?.message))) return onError(error)
      return loadLibrary(connection, this.library)
        .then(() => connection.send(route, call))
        .then(onReply, onError)
    })
  }
}

const pass = (reply: unknown) => reply
const fail = (error: unknown): never => {
  throw error
}

/** Slots at the start of a call array for `FCALL name numkeys` (see `Script.send`). */
export const CALL_HEAD = 3

/** The functions of the backend, and their library. */
export type Scripts = Record<FunctionName, Script> & { library: LibrarySource }

/** The backend's functions; with `checkKeys`, variants that fail on a key they did not declare (for tests). */
export function scripts(checkKeys = false): Scripts {
  const library = librarySource(checkKeys)
  const functions = Object.entries(library.functions).map(([fn, name]) => [fn, new Script(library, name)])
  return { ...Object.fromEntries(functions), library } as Scripts
}
