import { encodeScopePath, type ScopePath } from '@cubby/core/backend'
import type pg from 'pg'
import { utf8Array } from './binary.js'
import type { Statements } from './sql.js'

/** A scope's row id and its ancestors' ids, root first, the scope itself last. */
export interface ScopeRow {
  id: number
  ancestors: readonly number[]
}

/** Entries per generation of a bounded cache: at most twice this many are kept. */
const GENERATION = 4096

/** A map keeping about the GENERATION most recently used entries (two generations, O(1)). */
class BoundedCache<K, V> {
  private young = new Map<K, V>()
  private old = new Map<K, V>()

  get(key: K): V | undefined {
    const hit = this.young.get(key)
    if (hit !== undefined) return hit
    const aged = this.old.get(key)
    if (aged !== undefined) this.set(key, aged)
    return aged
  }

  set(key: K, value: V): void {
    if (this.young.size >= GENERATION) {
      this.old = this.young
      this.young = new Map()
    }
    this.young.set(key, value)
  }
}

/** The encoded path of a scope as the bytes stored in `scopes.path`. */
export const pathBytes = (path: ScopePath): Buffer => Buffer.from(encodeScopePath(path), 'utf8')

/**
 * Maps scope paths to row ids for writes (reads join on the path instead). Rows are never deleted, so a committed
 * id stays valid forever and is cached; ids created by a transaction are cached only once it commits (`commit`),
 * since a rollback takes the rows back. Core passes the same path array for every call through one view, so the
 * first lookup is by identity.
 */
export class ScopeIds {
  private readonly byArray = new WeakMap<ScopePath, ScopeRow>()
  private readonly byText = new BoundedCache<string, ScopeRow>()
  private readonly byId = new BoundedCache<number, readonly number[]>()

  constructor(private readonly sql: Statements) {}

  /** The row id of a committed scope row cached by the path array (no encoding: cheap enough for every read). */
  known(path: ScopePath): number | undefined {
    return this.byArray.get(path)?.id
  }

  /** The cached row of a scope, if known. */
  cached(path: ScopePath): ScopeRow | undefined {
    const known = this.byArray.get(path)
    if (known) return known
    const row = this.byText.get(encodeScopePath(path))
    if (row) this.byArray.set(path, row)
    return row
  }

  /**
   * Rows of the scopes (inside a write transaction holding the write lock), creating the missing ones when `create`
   * (else undefined for them). Created rows go to `created`, to be cached by `commit` once the transaction commits.
   */
  async resolve(
    client: pg.ClientBase,
    paths: readonly ScopePath[],
    create: boolean,
    created: Array<[ScopePath, ScopeRow]>,
  ): Promise<Array<ScopeRow | undefined>> {
    const out: Array<ScopeRow | undefined> = paths.map((path) => this.cached(path) ?? this.pending(path, created))
    const missing = paths.filter((_, i) => out[i] === undefined)
    if (missing.length === 0) return out
    const texts = new Set<string>()
    for (const path of missing) for (let d = 0; d <= path.length; d++) texts.add(encodeScopePath(path.slice(0, d)))
    const found = new Map<string, number>()
    const result = await client.query<{ id: number; path: Buffer }>({
      ...this.sql.scopeIds,
      values: [utf8Array([...texts])],
    })
    for (const row of result.rows) found.set(row.path.toString('utf8'), row.id)
    for (let i = 0; i < paths.length; i++) {
      if (out[i] !== undefined) continue
      const path = paths[i]!
      const ancestors: number[] = []
      let fresh = false
      for (let d = 0; d <= path.length; d++) {
        const text = encodeScopePath(path.slice(0, d))
        let id = found.get(text)
        if (id === undefined) {
          if (!create) break
          const inserted = await client.query<{ id: number }>({
            ...this.sql.createScope,
            values: [Buffer.from(text, 'utf8'), ancestors.at(-1) ?? null, d === 0 ? null : Buffer.from(path[d - 1]!)],
          })
          id = inserted.rows[0]!.id
          found.set(text, id)
          fresh = true
        }
        ancestors.push(id)
      }
      if (ancestors.length !== path.length + 1) continue
      const row = { id: ancestors[ancestors.length - 1]!, ancestors }
      out[i] = row
      if (fresh) created.push([path, row])
      else this.remember(path, row)
    }
    return out
  }

  private pending(path: ScopePath, created: Array<[ScopePath, ScopeRow]>): ScopeRow | undefined {
    if (created.length === 0) return undefined
    const text = encodeScopePath(path)
    return created.find(([p]) => p === path || encodeScopePath(p) === text)?.[1]
  }

  /** Caches rows a transaction created, once it committed. */
  commit(created: ReadonlyArray<[ScopePath, ScopeRow]>): void {
    for (const [path, row] of created) this.remember(path, row)
  }

  private remember(path: ScopePath, row: ScopeRow): void {
    this.byText.set(encodeScopePath(path), row)
    this.byArray.set(path, row)
    this.byId.set(row.id, row.ancestors)
  }

  /** Ancestor ids of a committed scope row (root first, the row last), following parent links. */
  async ancestorsOf(client: pg.ClientBase, id: number): Promise<readonly number[]> {
    let ancestors = this.byId.get(id)
    if (!ancestors) {
      const chain = [id]
      for (let at: number | null = id; ; ) {
        const result: pg.QueryResult<{ parent: number | null }> = await client.query({
          ...this.sql.parentOf,
          values: [at],
        })
        at = result.rows[0]?.parent ?? null
        if (at === null) break
        chain.unshift(at)
      }
      ancestors = chain
      this.byId.set(id, ancestors)
    }
    return ancestors
  }
}
