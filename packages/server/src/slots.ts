import type { Session } from './access.js'

/** The context a session opens, as a map key. */
function contextKey(session: Session): string {
  return session.root ? 'root' : JSON.stringify([session.workspace, session.plugin, session.user ?? null])
}

/**
 * Connection slots beyond the server-wide `maxConnections`: connections not yet authenticated share a small budget
 * (`maxUnauthenticated`), and connections holding a session of one context (root, or workspace + plugin + user) are
 * capped at `maxConnectionsPerContext`, so neither a client without a token nor one token can take every slot.
 */
export class ConnectionSlots {
  private readonly unauthenticated = new Set<object>()
  private readonly byContext = new Map<string, Set<object>>()
  private readonly contextsOf = new Map<object, Set<string>>()

  constructor(
    private readonly maxUnauthenticated: number,
    private readonly maxPerContext: number,
  ) {}

  /** Whether one more not-yet-authenticated connection may open. */
  get canOpen(): boolean {
    return this.unauthenticated.size < this.maxUnauthenticated
  }

  /** A connection opened (not authenticated yet). */
  opened(connection: object): void {
    this.unauthenticated.add(connection)
  }

  /**
   * `connection` authenticated a session for `session`'s context: false (and nothing taken) when that context
   * already holds `maxConnectionsPerContext` other connections.
   */
  claim(connection: object, session: Session): boolean {
    const key = contextKey(session)
    let holders = this.byContext.get(key)
    if (holders?.has(connection)) return true
    if (holders && holders.size >= this.maxPerContext) return false
    if (!holders) {
      holders = new Set()
      this.byContext.set(key, holders)
    }
    holders.add(connection)
    let keys = this.contextsOf.get(connection)
    if (!keys) {
      keys = new Set()
      this.contextsOf.set(connection, keys)
    }
    keys.add(key)
    this.unauthenticated.delete(connection)
    return true
  }

  /** The connection closed: its slots are free. */
  closed(connection: object): void {
    this.unauthenticated.delete(connection)
    for (const key of this.contextsOf.get(connection) ?? []) {
      const holders = this.byContext.get(key)
      holders?.delete(connection)
      if (holders?.size === 0) this.byContext.delete(key)
    }
    this.contextsOf.delete(connection)
  }
}
