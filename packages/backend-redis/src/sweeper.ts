import type { Connection } from './connection.js'
import { groupOfTag, groupsKey, type ScopeKeys } from './keys.js'
import { SCRIPTS, Script } from './scripts.js'

/** Moves a group's score in `P:xg` to its next expiry (or removes it), unless a writer lowered it meanwhile. */
const RESCHEDULE = new Script(`
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) == tonumber(ARGV[2]) then
  if ARGV[3] == '' then redis.call('ZREM', KEYS[1], ARGV[1]) else redis.call('ZADD', KEYS[1], 'XX', ARGV[3], ARGV[1]) end
end
return 1
`)

const CHUNK = 1000

/**
 * Reclaims expired entries. Groups holding entries with a TTL are listed in `P:xg` by their earliest expiry
 * (registered before the write that sets a TTL), so the background sweep visits only groups with something due —
 * never a keyspace scan. `usage()`, `scopes()` and quota checks reclaim their own group on demand.
 */
export class Sweeper {
  /** Earliest expiry this process has registered per group: a later one needs no new registration. */
  private readonly registered = new Map<string, number>()
  private timer: NodeJS.Timeout | undefined
  private running = false

  constructor(
    private readonly connection: Connection,
    private readonly prefix: string,
  ) {}

  /** Makes sure the background sweep will visit this group by `expiresAt`. */
  async register(scope: ScopeKeys, expiresAt: number): Promise<void> {
    const known = this.registered.get(scope.tag)
    if (known !== undefined && known <= expiresAt) return
    const key = groupsKey(this.prefix)
    await this.connection.send(key, ['ZADD', key, 'LT', String(expiresAt), scope.tag])
    this.registered.set(scope.tag, Math.min(known ?? expiresAt, expiresAt))
  }

  /** Reclaims everything due in one group. */
  async sweep(group: string, now: number): Promise<{ next: number | undefined }> {
    for (;;) {
      const [count, next] = (await SCRIPTS.sweep.run(this.connection, `${group}x`, [
        group,
        String(now),
        String(CHUNK),
      ])) as [number, Buffer | string]
      const nextText = Buffer.isBuffer(next) ? next.toString() : next
      if (count < CHUNK) return { next: nextText === '' ? undefined : Number(nextText) }
    }
  }

  /** Reclaims everything due in the group of `scope`. */
  sweepScope(scope: ScopeKeys, now: number): Promise<{ next: number | undefined }> {
    return this.sweep(scope.group, now)
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

  private async sweepDue(now: number): Promise<void> {
    const key = groupsKey(this.prefix)
    const due = (await this.connection.send(key, [
      'ZRANGEBYSCORE',
      key,
      '-inf',
      String(now),
      'WITHSCORES',
      'LIMIT',
      '0',
      '100',
    ])) as Buffer[]
    for (let i = 0; i < due.length; i += 2) {
      const tag = due[i]!.toString('utf8')
      const score = due[i + 1]!.toString()
      const { next } = await this.sweep(groupOfTag(this.prefix, tag), now)
      await RESCHEDULE.run(this.connection, key, [tag, score, next === undefined ? '' : String(next)])
      this.registered.delete(tag)
    }
  }
}
