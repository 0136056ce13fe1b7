import type { ListQuery, ScopePath, StoredEntry } from '@cubby/core/backend'
import type { Connection } from './connection.js'
import { parseEntry } from './entry.js'
import { entryKey, indexKey, type ScopeKeys, scopeKeys } from './keys.js'
import { SCRIPTS } from './scripts.js'

interface PendingGet {
  keys: readonly string[]
  now: number
  values: boolean
  resolve(entries: (StoredEntry | undefined)[]): void
  reject(error: unknown): void
}

/**
 * Reads. Gets issued in the same tick for the same scope are coalesced into one MGET (all of a scope's entries
 * share a slot), so `Promise.all` of many gets costs one round trip per scope instead of one per key.
 */
export class Reader {
  private readonly pending = new Map<string, { scope: ScopeKeys; gets: PendingGet[] }>()
  private scheduled = false

  constructor(
    private readonly connection: Connection,
    private readonly prefix: string,
    private readonly fail: (error: unknown) => Error,
  ) {}

  get(
    path: ScopePath,
    keys: readonly string[],
    options: { values: boolean; now: number },
  ): Promise<(StoredEntry | undefined)[]> {
    const scope = scopeKeys(this.prefix, path)
    return new Promise((resolve, reject) => {
      let batch = this.pending.get(scope.id)
      if (!batch) {
        batch = { scope, gets: [] }
        this.pending.set(scope.id, batch)
      }
      batch.gets.push({ keys, now: options.now, values: options.values, resolve, reject })
      if (!this.scheduled) {
        this.scheduled = true
        queueMicrotask(() => this.flush())
      }
    })
  }

  private flush(): void {
    this.scheduled = false
    const batches = [...this.pending.values()]
    this.pending.clear()
    for (const { scope, gets } of batches) {
      const names = gets.flatMap((get) => get.keys.map((key) => entryKey(scope, key)))
      this.connection.send(names[0]!, ['MGET', ...names]).then(
        (reply) => {
          const entries = reply as (Buffer | null)[]
          let at = 0
          for (const get of gets) {
            get.resolve(
              get.keys.map((key) => {
                const entry = entries[at++]
                return entry ? parseEntry(key, entry, get.now, get.values) : undefined
              }),
            )
          }
        },
        (error: unknown) => {
          const failure = this.fail(error)
          for (const get of gets) get.reject(failure)
        },
      )
    }
  }

  /** A page of live entries, in one script call. */
  async list(path: ScopePath, query: ListQuery): Promise<StoredEntry[]> {
    const scope = scopeKeys(this.prefix, path)
    const [min, max] = lexBounds(query)
    const index = indexKey(scope)
    const reply = (await SCRIPTS.list.run(this.connection, index, [
      scope.group,
      scope.id,
      String(query.now),
      min,
      max,
      query.reverse ? '1' : '',
      String(query.limit),
      query.values ? '1' : '',
    ])) as Buffer[]
    const out: StoredEntry[] = []
    for (let i = 0; i < reply.length; i += 2) {
      const key = reply[i]!.toString('utf8')
      const entry = parseEntry(key, reply[i + 1]!, query.now, query.values)
      if (entry) out.push(entry)
    }
    return out
  }
}

type Bound = { bytes: Buffer; inclusive: boolean }

/** ZRANGEBYLEX bounds (`[x`, `(x`, `-`, `+`) for a query's prefix/start/end/after, compared as UTF-8 bytes. */
export function lexBounds(query: Omit<ListQuery, 'limit' | 'values' | 'now'>): [Buffer | string, Buffer | string] {
  const lower: Bound[] = []
  const upper: Bound[] = []
  const utf8 = (text: string) => Buffer.from(text, 'utf8')
  if (query.start !== undefined) lower.push({ bytes: utf8(query.start), inclusive: true })
  if (query.end !== undefined) upper.push({ bytes: utf8(query.end), inclusive: false })
  if (query.prefix !== undefined) {
    lower.push({ bytes: utf8(query.prefix), inclusive: true })
    upper.push({ bytes: Buffer.concat([utf8(query.prefix), Buffer.from([0xff])]), inclusive: false }) // 0xFF never occurs in UTF-8
  }
  if (query.after !== undefined) (query.reverse ? upper : lower).push({ bytes: utf8(query.after), inclusive: false })
  const pick = (bounds: Bound[], wantLargest: boolean) =>
    bounds.reduce<Bound | undefined>((best, bound) => {
      if (!best) return bound
      const order = Buffer.compare(bound.bytes, best.bytes)
      if (order === 0) return bound.inclusive ? best : bound
      return order > 0 === wantLargest ? bound : best
    }, undefined)
  const spec = (bound: Bound | undefined, open: string) =>
    bound ? Buffer.concat([Buffer.from(bound.inclusive ? '[' : '('), bound.bytes]) : open
  return [spec(pick(lower, true), '-'), spec(pick(upper, false), '+')]
}
