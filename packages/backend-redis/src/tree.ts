import type { ScopePath, Usage } from '@cubby/core/backend'
import type { Connection } from './connection.js'
import { childrenKey, GROUP_DEPTH, indexKey, scopeKeys, usageKey } from './keys.js'
import { SCRIPTS } from './scripts.js'
import type { Sweeper } from './sweeper.js'

const CLEAR_CHUNK = 1000
const PAGE = 200

/**
 * Operations on subtrees. Inside a group (depth >= 2) the write script keeps subtree counters and child indexes
 * exact, so usage and children are one read. Above it (the root, workspaces) a subtree spans groups: a scope's
 * child index there lists every child ever written — registered before the child's first write from this process,
 * never removed — and answers are computed from the children's own groups, skipping empty ones.
 */
export class Tree {
  private readonly registered = new Set<string>()

  constructor(
    private readonly connection: Connection,
    private readonly prefix: string,
    private readonly sweeper: Sweeper,
  ) {}

  /** Registers `path` and its ancestors above the group depth in their parents' child indexes (before writing). */
  async register(path: ScopePath): Promise<void> {
    for (let depth = 1; depth <= Math.min(path.length, GROUP_DEPTH); depth++) {
      const parent = scopeKeys(this.prefix, path.slice(0, depth - 1))
      const name = path[depth - 1]!
      const marker = `${parent.id}\u0000${name}`
      if (this.registered.has(marker)) continue
      const key = childrenKey(parent)
      await this.connection.send(key, ['ZADD', key, '0', name])
      this.registered.add(marker)
    }
  }

  /** Live keys and bytes of a scope and its descendants. */
  async usage(path: ScopePath, now: number): Promise<Usage> {
    const own = await this.groupUsage(path, now)
    if (path.length >= GROUP_DEPTH) return own
    for (const name of await this.allChildren(path)) {
      const child = await this.usage([...path, name], now)
      own.keys += child.keys
      own.bytes += child.bytes
    }
    return own
  }

  /** Names of direct children holding live data, in byte order, after `after`, at most `limit`. */
  async scopes(path: ScopePath, after: string | undefined, limit: number, now: number): Promise<string[]> {
    const scope = scopeKeys(this.prefix, path)
    if (path.length >= GROUP_DEPTH) {
      await this.sweeper.sweepScope(scope, now)
      return this.childPage(childrenKey(scope), after, limit)
    }
    const names: string[] = []
    let cursor = after
    while (names.length < limit) {
      const page = await this.childPage(childrenKey(scope), cursor, PAGE)
      for (const name of page) {
        if ((await this.usage([...path, name], now)).keys > 0) names.push(name)
        if (names.length === limit) break
      }
      if (page.length < PAGE) break
      cursor = page[page.length - 1]
    }
    return names
  }

  /** Removes a scope's own entries; resolves to how many were live. */
  async clear(path: ScopePath, now: number): Promise<number> {
    const scope = scopeKeys(this.prefix, path)
    let live = 0
    for (;;) {
      const [alive, removed] = (await SCRIPTS.clear.run(this.connection, indexKey(scope), [
        scope.group,
        scope.id,
        String(now),
        String(CLEAR_CHUNK),
      ])) as [number, number]
      live += alive
      if (removed < CLEAR_CHUNK) return live
    }
  }

  /** Removes a scope's own entries and every descendant's. Not atomic across groups: a concurrent write may survive. */
  async drop(path: ScopePath, now: number): Promise<void> {
    await this.clear(path, now)
    for (const name of await this.allChildren(path)) await this.drop([...path, name], now)
  }

  private async groupUsage(path: ScopePath, now: number): Promise<Usage> {
    const scope = scopeKeys(this.prefix, path)
    await this.sweeper.sweepScope(scope, now)
    const key = usageKey(scope)
    const [keys, bytes] = (await this.connection.send(key, ['HMGET', key, 'k', 'b'])) as (Buffer | null)[]
    return { keys: Number(keys ?? 0), bytes: Number(bytes ?? 0) }
  }

  private async allChildren(path: ScopePath): Promise<string[]> {
    const key = childrenKey(scopeKeys(this.prefix, path))
    const names: string[] = []
    for (let cursor: string | undefined; ; ) {
      const page = await this.childPage(key, cursor, PAGE)
      names.push(...page)
      if (page.length < PAGE) return names
      cursor = page[page.length - 1]
    }
  }

  private async childPage(key: string, after: string | undefined, limit: number): Promise<string[]> {
    const min = after === undefined ? '-' : Buffer.concat([Buffer.from('('), Buffer.from(after, 'utf8')])
    const reply = (await this.connection.send(key, [
      'ZRANGEBYLEX',
      key,
      min,
      '+',
      'LIMIT',
      '0',
      String(limit),
    ])) as Buffer[]
    return reply.map((name) => name.toString('utf8'))
  }
}
