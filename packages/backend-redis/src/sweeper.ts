import type { Arg, Connection } from './connection.js'
import { expiryKey, groupOfTag, groupsKey, levelKeysOfId, type ScopeKeys, sizesKey } from './keys.js'
import type { Scripts } from './scripts.js'

const CHUNK = 500
const DUE_GROUPS = 100

/**
 * Reclaims expired entries. Groups holding entries with a TTL are listed in `P:xg` by their earliest expiry, so the
 * background sweep visits only groups with something due — never a keyspace scan. On one server the write and sweep
 * scripts keep `P:xg` in step atomically; on a cluster (`P:xg` is in another slot) the writer registers a group
 * after a write that lowered its earliest expiry, and the sweep re-checks a group it unlisted. `usage()`,
 * `scopes()` and quota refusals reclaim on demand, so their answers are exact whatever the sweep's timing.
 */
export class Sweeper {
  private timer: NodeJS.Timeout | undefined
  private running = false

  constructor(
    private readonly connection: Connection,
    private readonly scripts: Scripts,
    private readonly prefix: string,
    private readonly standalone: boolean,
  ) {}

  /** Reclaims everything due at `now` in one group; resolves to the group's next expiry. */
  async sweepGroup(group: string, now: number): Promise<number | undefined> {
    const x = expiryKey(group)
    for (;;) {
      const due = (await this.connection.send(x, [
        'ZRANGEBYSCORE',
        x,
        '-inf',
        String(now),
        'LIMIT',
        '0',
        String(CHUNK),
      ])) as Buffer[]
      if (due.length === 0) {
        const first = (await this.connection.send(x, ['ZRANGE', x, '0', '0', 'WITHSCORES'])) as Buffer[]
        return first.length > 0 ? Number(first[1]!.toString()) : undefined
      }
      const members = due.map((member) => member.toString('utf8'))
      const keys = [x, sizesKey(group)]
      if (this.standalone) keys.push(groupsKey(this.prefix))
      const scopes = new Set<string>()
      for (const member of members) {
        const id = member.slice(0, member.indexOf(':'))
        if (scopes.has(id)) continue
        scopes.add(id)
        keys.push(`${group}i:${id}`, ...levelKeysOfId(this.prefix, id, this.standalone))
      }
      const first = keys.length + 1
      for (const member of members) keys.push(`${group}e:${member}`)
      const args: Arg[] = [this.prefix, this.standalone ? 's' : 'c', group, String(now), String(first)]
      args.push(String(members.length), ...members)
      const [, next] = (await this.scripts.sweep.run(this.connection, keys, args)) as [number, Buffer | string]
      const nextText = next.toString()
      if (due.length < CHUNK) return nextText === '' ? undefined : Number(nextText)
    }
  }

  /**
   * Reclaims what is due in a scope's subtree as far as one answer needs it: its group, or on one server, for the
   * root or a workspace, every group listed as due in `P:xg` (a cluster walks the child groups itself).
   */
  async sweepScope(scope: ScopeKeys, now: number): Promise<void> {
    if (!this.standalone || scope.depth >= 2) {
      await this.sweepGroup(scope.group, now)
      return
    }
    // Each swept group leaves the due range (its next expiry is later than now), so this ends.
    for (let round = 0; round < 1000; round++) {
      const due = await this.dueGroups(now)
      await Promise.all(due.map(([tag]) => this.sweepGroup(groupOfTag(this.prefix, tag), now)))
      if (due.length < DUE_GROUPS) return
    }
  }

  /** Starts the background sweep. */
  start(intervalMs: number, clock: () => number): void {
    this.timer = setInterval(() => {
      if (this.running) return
      this.running = true
      this.sweepDue(clock())
        .catch(() => {}) // the next round retries; expired entries are invisible to reads either way
        .finally(() => {
          this.running = false
        })
    }, intervalMs)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  private async dueGroups(now: number): Promise<Array<[string, string]>> {
    const key = groupsKey(this.prefix)
    const reply = (await this.connection.send(key, [
      'ZRANGEBYSCORE',
      key,
      '-inf',
      String(now),
      'WITHSCORES',
      'LIMIT',
      '0',
      String(DUE_GROUPS),
    ])) as Buffer[]
    const out: Array<[string, string]> = []
    for (let i = 0; i < reply.length; i += 2) out.push([reply[i]!.toString('utf8'), reply[i + 1]!.toString()])
    return out
  }

  private async sweepDue(now: number): Promise<void> {
    for (const [tag, score] of await this.dueGroups(now)) {
      const next = await this.sweepGroup(groupOfTag(this.prefix, tag), now)
      if (this.standalone) continue // the sweep script rescheduled the group
      const key = groupsKey(this.prefix)
      const args = [this.prefix, 'c', tag, score, next === undefined ? '' : String(next)]
      const moved = await this.scripts.reschedule.run(this.connection, [key], args)
      if (moved === 1 && next === undefined) {
        // A write may have added a TTL entry after the sweep looked and registered it before we unlisted the group.
        const again = await this.sweepGroup(groupOfTag(this.prefix, tag), now)
        if (again !== undefined) await this.connection.send(key, ['ZADD', key, 'LT', String(again), tag])
      }
    }
  }
}
