import type { ScopePath, Usage } from '@cubby/core/backend'
import type { Arg, Connection } from './connection.js'
import {
  childrenKey,
  expiryKey,
  GROUP_DEPTH,
  groupsKey,
  indexKey,
  levelKeys,
  type ScopeKeys,
  scopeKeys,
  sequenceKey,
  sizesKey,
  usageKey,
} from './keys.js'
import type { Registry } from './registry.js'
import type { Scripts } from './scripts.js'
import type { Sweeper } from './sweeper.js'

const CLEAR_CHUNK = 500
const PAGE = 200
/** Children visited at once by usage, scopes and drop above the group depth. */
const PARALLEL = 8

/** What the tree needs besides the connection. */
export interface TreeDeps {
  connection: Connection
  scripts: Scripts
  sweeper: Sweeper
  /** Cluster only (undefined on one server, where every level's counters and child index are exact). */
  registry: Registry | undefined
  prefix: string
  seqTtlMs: number
}

/**
 * Operations on subtrees. Within a group (and everywhere on one server) the scripts keep subtree counters and child
 * indexes exact, so usage and children are one read after reclaiming what expired. On a cluster, above the group
 * depth (the root, workspaces) a subtree spans slots: its answers add up the child groups, and children found
 * empty are pruned from the index (see Registry), so the walk costs what is live, not everything ever written.
 */
export class Tree {
  constructor(private readonly deps: TreeDeps) {}

  private get standalone(): boolean {
    return this.deps.registry === undefined
  }

  /** Live keys and bytes of a scope and its descendants. */
  async usage(path: ScopePath, now: number): Promise<Usage> {
    const scope = scopeKeys(this.deps.prefix, path)
    await this.deps.sweeper.sweepScope(scope, now)
    const own = await this.counters(scope)
    if (this.standalone || path.length >= GROUP_DEPTH) return own
    await this.eachChild(path, async (name) => {
      const child = await this.childUsage([...path, name], now)
      own.keys += child.keys
      own.bytes += child.bytes
    })
    return own
  }

  /** Names of direct children holding live data, in byte order, after `after`, at most `limit`. */
  async scopes(path: ScopePath, after: string | undefined, limit: number, now: number): Promise<string[]> {
    const scope = scopeKeys(this.deps.prefix, path)
    if (this.standalone || path.length >= GROUP_DEPTH) {
      await this.deps.sweeper.sweepScope(scope, now)
      return this.childPage(childrenKey(scope), after, limit)
    }
    const names: string[] = []
    let cursor = after
    while (names.length < limit) {
      const size = Math.min(PAGE, Math.max(limit - names.length, PARALLEL))
      const page = await this.childPage(childrenKey(scope), cursor, size)
      const live = await mapLimit(page, async (name) => (await this.childUsage([...path, name], now)).keys > 0)
      for (let i = 0; i < page.length && names.length < limit; i++) if (live[i]) names.push(page[i]!)
      if (page.length < size) break
      cursor = page[page.length - 1]
    }
    return names
  }

  /** Removes a scope's own entries; resolves to how many were live. */
  async clear(path: ScopePath, now: number): Promise<number> {
    const { connection, scripts, prefix } = this.deps
    const scope = scopeKeys(prefix, path)
    const index = indexKey(scope)
    let live = 0
    for (;;) {
      const keys = (await connection.send(index, ['ZRANGE', index, '0', String(CLEAR_CHUNK - 1)])) as Buffer[]
      if (keys.length === 0) return live
      const declared = [expiryKey(scope.group), sizesKey(scope.group)]
      if (this.standalone) declared.push(groupsKey(prefix))
      declared.push(index, sequenceKey(scope), ...levelKeys(prefix, scope, this.standalone))
      const first = declared.length + 1
      for (const key of keys) declared.push(scope.entries + key.toString('utf8'))
      const args: Arg[] = [prefix, this.standalone ? 's' : 'c', scope.group, scope.id, String(now)]
      args.push(String(this.deps.seqTtlMs), String(first), String(keys.length))
      live += Number(await scripts.clear.run(connection, declared, args))
      if (keys.length < CLEAR_CHUNK) return live
    }
  }

  /**
   * Removes a scope's own entries and every descendant's, deepest first: children before their parent, so a reader
   * that still sees a scope's own key also sees its children's. Each chunk of one scope is atomic; the drop as a
   * whole is not, and a write into the subtree while it runs may survive.
   */
  async drop(path: ScopePath, now: number): Promise<void> {
    const scope = scopeKeys(this.deps.prefix, path)
    const children: string[] = []
    for (let cursor: string | undefined; ; ) {
      const page = await this.childPage(childrenKey(scope), cursor, PAGE)
      children.push(...page)
      if (page.length < PAGE) break
      cursor = page[page.length - 1]
    }
    await mapLimit(children, (name) => this.drop([...path, name], now))
    await this.clear(path, now)
    const { registry } = this.deps
    if (registry && path.length > 0 && path.length <= GROUP_DEPTH) await registry.prune(path)
  }

  /** Cluster, above the group depth: a child group's usage; an empty child is pruned from the index. */
  private async childUsage(path: ScopePath, now: number): Promise<Usage> {
    const usage = await this.usage(path, now)
    if (usage.keys === 0) await this.deps.registry!.prune(path)
    return usage
  }

  private async counters(scope: ScopeKeys): Promise<Usage> {
    const key = usageKey(scope)
    const [keys, bytes] = (await this.deps.connection.send(key, ['HMGET', key, 'k', 'b'])) as (Buffer | null)[]
    return { keys: Number(keys ?? 0), bytes: Number(bytes ?? 0) }
  }

  /** Runs `visit` on every name in a scope's child index, a page at a time, PARALLEL at once. */
  private async eachChild(path: ScopePath, visit: (name: string) => Promise<void>): Promise<void> {
    const key = childrenKey(scopeKeys(this.deps.prefix, path))
    for (let cursor: string | undefined; ; ) {
      const page = await this.childPage(key, cursor, PAGE)
      await mapLimit(page, visit)
      if (page.length < PAGE) return
      cursor = page[page.length - 1]
    }
  }

  private async childPage(key: string, after: string | undefined, limit: number): Promise<string[]> {
    const min = after === undefined ? '-' : Buffer.concat([Buffer.from('('), Buffer.from(after, 'utf8')])
    const reply = (await this.deps.connection.send(key, [
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

/** Maps `items` through `run`, at most PARALLEL at a time, keeping the order of the results. */
async function mapLimit<T, R>(items: readonly T[], run: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      results[i] = await run(items[i]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker))
  return results
}
