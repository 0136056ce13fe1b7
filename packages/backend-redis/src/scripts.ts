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
  async run(connection: Connection, keys: readonly string[], args: readonly Arg[]): Promise<unknown> {
    const call: Arg[] = ['FCALL', this.name, String(keys.length)]
    for (const key of keys) call.push(key)
    for (const arg of args) call.push(arg)
    try {
      return await connection.send(keys[0]!, call)
    } catch (error) {
      if (!/Function not found/i.test(String((error as Error)?.message))) throw error
      await loadLibrary(connection, this.library)
      return connection.send(keys[0]!, call)
    }
  }
}

/** The functions of the backend, and their library. */
export type Scripts = Record<FunctionName, Script> & { library: LibrarySource }

/** The backend's functions; with `checkKeys`, variants that fail on a key they did not declare (for tests). */
export function scripts(checkKeys = false): Scripts {
  const library = librarySource(checkKeys)
  const functions = Object.entries(library.functions).map(([fn, name]) => [fn, new Script(library, name)])
  return { ...Object.fromEntries(functions), library } as Scripts
}
