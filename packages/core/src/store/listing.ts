import type { ListQuery } from '../backend/contract.js'
import { InvalidConfigError } from '../errors.js'
import { checkInteger, describe } from '../limits.js'
import type { Entry, IterateOptions, KeyInfo, ListOptions, ListPage, ScopesOptions, ScopesPage } from '../types.js'
import type { ScopeContext } from './context.js'
import { toEntry } from './reads.js'

const DEFAULT_PAGE = 100

/** Cursors are opaque to users: base64url of `[1, kind, last]` so a cursor from another call is rejected. */
function encodeCursor(kind: string, last: string): string {
  return Buffer.from(JSON.stringify([1, kind, last]), 'utf8').toString('base64url')
}

function decodeCursor(field: string, kind: string, cursor: unknown): string | undefined {
  if (cursor === undefined) return undefined
  if (typeof cursor === 'string') {
    try {
      const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
      if (Array.isArray(parsed) && parsed[0] === 1 && parsed[1] === kind && typeof parsed[2] === 'string')
        return parsed[2]
    } catch {
      // fall through to the error below
    }
  }
  throw new InvalidConfigError(
    field,
    `is not a cursor from a previous ${kind.startsWith('list') ? 'list' : 'scopes'} page with the same order (got ${describe(cursor)})`,
  )
}

function rangeQuery(
  scope: ScopeContext,
  action: string,
  options: IterateOptions | ListOptions,
): Omit<ListQuery, 'limit' | 'values' | 'now'> {
  const query: Omit<ListQuery, 'limit' | 'values' | 'now'> = { reverse: false }
  for (const bound of ['prefix', 'start', 'end'] as const) {
    const value = scope.optionalString(`${action}.${bound}`, options[bound])
    if (value !== undefined) {
      if (!value.isWellFormed()) throw new InvalidConfigError(`${action}.${bound}`, 'is not well-formed Unicode')
      if (value !== '' || bound !== 'prefix') query[bound] = value
    }
  }
  if (options.reverse !== undefined && typeof options.reverse !== 'boolean') {
    throw new InvalidConfigError(`${action}.reverse`, `must be a boolean, got ${describe(options.reverse)}`)
  }
  query.reverse = options.reverse === true
  return query
}

function pageSize(scope: ScopeContext, field: string, value: unknown): number {
  if (value === undefined) return Math.min(DEFAULT_PAGE, scope.engine.limits.maxPageSize)
  return checkInteger(field, value, 1, scope.engine.limits.maxPageSize)
}

export async function list<T>(scope: ScopeContext, options?: ListOptions): Promise<ListPage<Entry<T> | KeyInfo>> {
  const opts = scope.options('list.options', options)
  const range = rangeQuery(scope, 'list', opts)
  const limit = pageSize(scope, 'list.limit', opts.limit)
  if (opts.values !== undefined && typeof opts.values !== 'boolean') {
    throw new InvalidConfigError('list.values', `must be a boolean, got ${describe(opts.values)}`)
  }
  const kind = range.reverse ? 'list-desc' : 'list-asc'
  const after = decodeCursor('list.cursor', kind, opts.cursor)
  const query: ListQuery = { ...range, limit: limit + 1, values: opts.values !== false, now: scope.engine.clock() }
  if (after !== undefined) query.after = after
  const rows = await scope.engine.call(() => scope.engine.backend.list(scope.path, query))
  const more = rows.length > limit
  const page = more ? rows.slice(0, limit) : rows
  const entries = page.map((row) => toEntry<T>(scope, row))
  return more ? { entries, cursor: encodeCursor(kind, page[page.length - 1]!.key) } : { entries }
}

export async function* iterate<T>(
  scope: ScopeContext,
  options: IterateOptions | undefined,
  values: boolean,
): AsyncGenerator<Entry<T> | KeyInfo> {
  const opts = scope.options(values ? 'entries.options' : 'keys.options', options)
  const action = values ? 'entries' : 'keys'
  const range = rangeQuery(scope, action, opts)
  const size = pageSize(scope, `${action}.pageSize`, opts.pageSize)
  let remaining = opts.limit === undefined ? Number.POSITIVE_INFINITY : checkInteger(`${action}.limit`, opts.limit, 0)
  let after: string | undefined
  while (remaining > 0) {
    const limit = Math.min(size, remaining)
    const query: ListQuery = { ...range, limit, values, now: scope.engine.clock() }
    if (after !== undefined) query.after = after
    const rows = await scope.engine.call(() => scope.engine.backend.list(scope.path, query))
    for (const row of rows) yield toEntry<T>(scope, row)
    remaining -= rows.length
    if (rows.length < limit) return
    after = rows[rows.length - 1]!.key
  }
}

export async function scopes(scope: ScopeContext, options?: ScopesOptions): Promise<ScopesPage> {
  const opts = scope.options('scopes.options', options)
  const limit = pageSize(scope, 'scopes.limit', opts.limit)
  const after = decodeCursor('scopes.cursor', 'scopes', opts.cursor)
  const now = scope.engine.clock()
  const query = after === undefined ? { limit: limit + 1, now } : { after, limit: limit + 1, now }
  const names = await scope.engine.call(() => scope.engine.backend.scopes(scope.path, query))
  if (names.length <= limit) return { names }
  const page = names.slice(0, limit)
  return { names: page, cursor: encodeCursor('scopes', page[page.length - 1]!) }
}
