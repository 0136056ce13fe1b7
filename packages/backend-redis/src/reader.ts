import type { Deadlines, ListQuery, ScopePath, StoredEntry } from '@cubby/core/backend'
import type { Arg, Connection } from './connection.js'
import { parseEntry } from './entry.js'
import { timeoutError } from './errors.js'
import { indexKey, type ScopeKeys, scopeKeys } from './keys.js'
import type { Scripts } from './scripts.js'

interface PendingGet {
  keys: readonly string[]
  now: number
  resolve(entries: (StoredEntry | undefined)[]): void
  reject(error: unknown): void
}

interface Batch {
  scope: ScopeKeys
  values: boolean
  gets: PendingGet[]
}

/**
 * Reads. Gets issued in the same tick for the same scope are coalesced into one MGET (all of a scope's entries share
 * a slot), so `Promise.all` of many gets costs one round trip per scope instead of one per key. Reads without
 * values (`has`, `keys()`) fetch only entry headers, never the values.
 */
export class Reader {
  private readonly pending = new Map<string, Batch>()
  private scheduled = false
  private readonly tasks = new Set<Promise<unknown>>()
  private readonly flushNow = () => this.flush()

  constructor(
    private readonly connection: Connection,
    private readonly scripts: Scripts,
    private readonly deadlines: Deadlines,
    private readonly prefix: string,
    private readonly where: string,
    private readonly fail: (error: unknown) => Error,
  ) {}

  get(path: ScopePath, keys: readonly string[], options: { values: boolean; now: number }) {
    const scope = scopeKeys(this.prefix, path)
    return new Promise<(StoredEntry | undefined)[]>((resolve, reject) => {
      const id = options.values ? scope.id : `${scope.id}\u0000`
      const batch = this.pending.get(id)
      const get = { keys, now: options.now, resolve, reject }
      if (batch) batch.gets.push(get)
      else this.pending.set(id, { scope, values: options.values, gets: [get] })
      if (!this.scheduled) {
        this.scheduled = true
        queueMicrotask(this.flushNow)
      }
    })
  }

  /** Resolves once every read sent so far has settled. */
  async drain(): Promise<void> {
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks])
  }

  private flush(): void {
    this.scheduled = false
    for (const batch of this.pending.values()) this.send(batch)
    this.pending.clear()
  }

  private send({ scope, values, gets }: Batch): void {
    // With values: the MGET itself, built at once (a batch of 10,000 keys is one array, not two).
    let count = values ? 1 : 0
    for (const get of gets) count += get.keys.length
    const names: Arg[] = new Array(count)
    let at = 0
    if (values) names[at++] = 'MGET'
    const prefix = scope.entries
    for (const get of gets) for (const key of get.keys) names[at++] = prefix + key
    let expired = false
    const done = this.deadlines.start(() => {
      expired = true
      const error = timeoutError(this.where, this.deadlines.ms, false)
      for (const get of gets) get.reject(error)
    })
    const fetched = values
      ? (this.connection.send(names[1] as string, names) as Promise<(Buffer | null)[]>)
      : this.fetch(names as string[], false)
    const task = fetched.then(
      (entries) => {
        done()
        if (expired) return
        let at = 0
        for (const get of gets) {
          const rows: (StoredEntry | undefined)[] = new Array(get.keys.length)
          for (let i = 0; i < get.keys.length; i++) {
            const entry = entries[at++]
            rows[i] = entry && entry.length > 0 ? parseEntry(get.keys[i]!, entry, get.now, values) : undefined
          }
          get.resolve(rows)
        }
      },
      (error: unknown) => {
        done()
        if (expired) return
        const failure = this.fail(error)
        for (const get of gets) get.reject(failure)
      },
    )
    this.tasks.add(task)
    const remove = () => this.tasks.delete(task)
    task.then(remove, remove)
  }

  /** Entries (or only their headers) of `names`, all in one slot; null or empty where absent. */
  private fetch(names: string[], values: boolean): Promise<(Buffer | null)[]> {
    if (!values) return this.scripts.headers.run(this.connection, names, []) as Promise<Buffer[]>
    const args: Arg[] = ['MGET']
    for (const name of names) args.push(name)
    return this.connection.send(names[0]!, args) as Promise<(Buffer | null)[]>
  }

  /**
   * A page of live entries: key ranges read from the scope's index with ZRANGEBYLEX, their entries with MGET,
   * repeated past expired entries until the page is full or the range is exhausted. With `maxBytes` the entries are
   * fetched in growing slices, so a page of huge values stops soon after the bound instead of reading them all.
   */
  async list(path: ScopePath, query: ListQuery): Promise<StoredEntry[]> {
    const scope = scopeKeys(this.prefix, path)
    let [min, max] = lexBounds(query)
    const index = indexKey(scope)
    const out: StoredEntry[] = []
    const bounded = query.values && query.maxBytes !== undefined
    let bytes = 0
    let slice = 16
    while (out.length < query.limit) {
      const want = query.limit - out.length + 8
      const keys = (await this.connection.send(
        index,
        query.reverse
          ? ['ZREVRANGEBYLEX', index, max, min, 'LIMIT', '0', String(want)]
          : ['ZRANGEBYLEX', index, min, max, 'LIMIT', '0', String(want)],
      )) as Buffer[]
      if (keys.length === 0) break
      const names = keys.map((key) => scope.entries + key.toString('utf8'))
      let last = -1
      for (let start = 0; start < keys.length && out.length < query.limit; ) {
        const end = bounded ? Math.min(keys.length, start + slice) : keys.length
        const entries = await this.fetch(names.slice(start, end), query.values)
        for (let i = start; i < end && out.length < query.limit; i++) {
          last = i
          const entry = entries[i - start]
          if (!entry || entry.length === 0) continue
          const parsed = parseEntry(keys[i]!.toString('utf8'), entry, query.now, query.values)
          if (!parsed) continue
          out.push(parsed)
          bytes += parsed.value?.byteLength ?? 0
          if (bounded && bytes >= query.maxBytes!) return out
        }
        start = end
        slice *= 2
      }
      if (keys.length < want || last < 0) break
      const after = Buffer.concat([Buffer.from('('), keys[last]!])
      if (query.reverse) max = after
      else min = after
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
