import type { Session } from './access.js'

/** The context a session opens, as a map key. */
function contextKey(session: Session): string {
  return session.root ? 'root' : JSON.stringify([session.workspace, session.plugin, session.user ?? null])
}

/** Why a new connection may not open, or undefined when it may. */
export type OpenRefusal = 'unauthenticated' | 'address' | undefined

/**
 * Connection slots beyond the server-wide `maxConnections`: connections not yet authenticated share a small budget
 * (`maxUnauthenticated`), of which one client address may hold only `maxUnauthenticatedPerAddress`; connections
 * holding a session of one context (root, or workspace + plugin + user) are capped at `maxConnectionsPerContext`. So
 * neither a client without a token (nor a few of them) nor one token can take every slot.
 */
export class ConnectionSlots {
  /** Connections without a session yet, each with the address it came from. */
  private readonly unauthenticated = new Map<object, string>()
  private readonly unauthenticatedAt = new Map<string, number>()
  private readonly byContext = new Map<string, Set<object>>()
  private readonly contextsOf = new Map<object, Set<string>>()

  constructor(
    private readonly maxUnauthenticated: number,
    private readonly maxPerContext: number,
    private readonly maxUnauthenticatedPerAddress: number = maxUnauthenticated,
  ) {}

  /** Whether one more not-yet-authenticated connection from `address` may open. */
  refusal(address: string): OpenRefusal {
    if (this.unauthenticated.size >= this.maxUnauthenticated) return 'unauthenticated'
    if ((this.unauthenticatedAt.get(address) ?? 0) >= this.maxUnauthenticatedPerAddress) return 'address'
    return undefined
  }

  /** A connection opened from `address` (not authenticated yet). */
  opened(connection: object, address: string): void {
    if (this.unauthenticated.has(connection)) return
    this.unauthenticated.set(connection, address)
    this.unauthenticatedAt.set(address, (this.unauthenticatedAt.get(address) ?? 0) + 1)
  }

  /** The connection no longer counts as unauthenticated (it holds a session, or it closed). */
  private authenticated(connection: object): void {
    const address = this.unauthenticated.get(connection)
    if (address === undefined) return
    this.unauthenticated.delete(connection)
    const left = (this.unauthenticatedAt.get(address) ?? 1) - 1
    if (left > 0) this.unauthenticatedAt.set(address, left)
    else this.unauthenticatedAt.delete(address)
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
    this.authenticated(connection)
    return true
  }

  /** The connection closed: its slots are free. */
  closed(connection: object): void {
    this.authenticated(connection)
    for (const key of this.contextsOf.get(connection) ?? []) {
      const holders = this.byContext.get(key)
      holders?.delete(connection)
      if (holders?.size === 0) this.byContext.delete(key)
    }
    this.contextsOf.delete(connection)
  }
}
