import type { ListQuery } from '../backend/contract.js'
import { describe } from '../describe.js'
import { InvalidConfigError } from '../errors.js'
import { isValidKey, utf8Length } from '../keys.js'
import { isPluginPath, USER_LEVEL } from '../layout.js'
import { checkInteger } from '../limits.js'
import type {
  Entry,
  IterateOptions,
  KeyInfo,
  ListOptions,
  ListPage,
  ScopesOptions,
  ScopesPage,
  UsersOptions,
  UsersPage,
} from '../types.js'
import type { ScopeContext } from './context.js'
import { toEntry } from './reads.js'

const DEFAULT_PAGE = 100
const CURSOR_FORMAT = 2
const RANGE_OPTIONS = ['prefix', 'start', 'end', 'reverse'] as const
const LIST_OPTIONS = [...RANGE_OPTIONS, 'limit', 'cursor', 'values'] as const
const ITERATE_OPTIONS = [...RANGE_OPTIONS, 'limit', 'pageSize'] as const

/**
 * Cursors are opaque to users: base64url of `[2, kind, last, scope]`, where `kind` is the listing and its order and
 * `scope` a tag of the scope path, so a cursor from another call, order or scope is rejected.
 */
function encodeCursor(scope: ScopeContext, kind: string, last: string): string {
  return Buffer.from(JSON.stringify([CURSOR_FORMAT, kind, last, scope.cursorTag]), 'utf8').toString('base64url')
}

/** The key a cursor continues after, checked like a key (a forged cursor must not reach the backend). */
function decodeCursor(scope: ScopeContext, field: string, kind: string, cursor: unknown): string | undefined {
  if (cursor === undefined) return undefined
  if (typeof cursor === 'string' && cursor.length <= 8 * scope.engine.limits.maxKeyBytes + 256) {
    try {
      const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
      if (
        Array.isArray(parsed) &&
        parsed.length === 4 &&
        parsed[0] === CURSOR_FORMAT &&
        parsed[1] === kind &&
        parsed[3] === scope.cursorTag &&
        isValidKey(parsed[2], scope.engine.limits.maxKeyBytes)
      )
        return parsed[2]
    } catch {
      // fall through to the error below
    }
  }
  throw new InvalidConfigError(
    field,
    `is not a cursor from a previous ${kind.startsWith('list') ? 'list' : kind} page of this scope with the same order (got ${describe(cursor)}); start again without a cursor`,
  )
}

function rangeQuery(
  scope: ScopeContext,
  action: string,
  options: IterateOptions | ListOptions,
): Omit<ListQuery, 'limit' | 'values' | 'now'> {
  const query: Omit<ListQuery, 'limit' | 'values' | 'now'> = { reverse: false }
  for (const bound of ['prefix', 'start', 'end'] as const) {
    const value = checkBound(scope, `${action}.${bound}`, options[bound])
    if (value !== undefined && (value !== '' || bound !== 'prefix')) query[bound] = value
  }
  if (options.reverse !== undefined && typeof options.reverse !== 'boolean') {
    throw new InvalidConfigError(`${action}.reverse`, `must be a boolean, got ${describe(options.reverse)}`)
  }
  query.reverse = options.reverse === true
  return query
}

/**
 * Validates a key bound (`prefix`, `start`, `end`, a watch prefix): a well-formed string of at most
 * `limits.maxKeyBytes` UTF-8 bytes (no longer key exists, so a longer bound only hides a mistake).
 */
export function checkBound(scope: ScopeContext, field: string, value: unknown): string | undefined {
  const text = scope.optionalString(field, value)
  if (text === undefined) return undefined
  if (!text.isWellFormed()) throw new InvalidConfigError(field, 'is not well-formed Unicode (it has a lone surrogate)')
  const max = scope.engine.limits.maxKeyBytes
  if (text.length * 3 > max && utf8Length(text) > max) {
    throw new InvalidConfigError(
      field,
      `is ${utf8Length(text)} UTF-8 bytes, longer than any key (limits.maxKeyBytes ${max})`,
    )
  }
  return text
}

function pageSize(scope: ScopeContext, field: string, value: unknown): number {
  if (value === undefined) return Math.min(DEFAULT_PAGE, scope.engine.limits.maxPageSize)
  return checkInteger(field, value, 1, scope.engine.limits.maxPageSize)
}

/** `KVStore.list`: asks the backend for one entry more than the page, to know whether a cursor is needed. */
export async function list<T>(scope: ScopeContext, options?: ListOptions): Promise<ListPage<Entry<T> | KeyInfo>> {
  const opts = scope.options('list', options, LIST_OPTIONS)
  const range = rangeQuery(scope, 'list', opts)
  const limit = pageSize(scope, 'list.limit', opts.limit)
  if (opts.values !== undefined && typeof opts.values !== 'boolean') {
    throw new InvalidConfigError('list.values', `must be a boolean, got ${describe(opts.values)}`)
  }
  const kind = range.reverse ? 'list-desc' : 'list-asc'
  const after = decodeCursor(scope, 'list.cursor', kind, opts.cursor)
  const query: ListQuery = { ...range, limit: limit + 1, values: opts.values !== false, now: scope.engine.clock() }
  if (after !== undefined) query.after = after
  const rows = await scope.engine.call(() => scope.engine.backend.list(scope.path, query))
  const more = rows.length > limit
  const page = more ? rows.slice(0, limit) : rows
  const entries = page.map((row) => toEntry<T>(scope, row))
  return more ? { entries, cursor: encodeCursor(scope, kind, page[page.length - 1]!.key) } : { entries }
}

/** `KVStore.entries` / `keys`: pages through the range, stopping at the first short (so final) page. */
export async function* iterate<T>(
  scope: ScopeContext,
  options: IterateOptions | undefined,
  values: boolean,
): AsyncGenerator<Entry<T> | KeyInfo> {
  const action = values ? 'entries' : 'keys'
  const opts = scope.options(action, options, ITERATE_OPTIONS)
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

/** `KVStore.scopes`: one page of child scope names, with a cursor while more remain. Never lists the user level. */
export function scopes(scope: ScopeContext, options?: ScopesOptions): Promise<ScopesPage> {
  return childPage(scope, 'scopes', options).then(({ names, cursor }) =>
    cursor === undefined ? { names } : { names, cursor },
  )
}

/** `KVStore.users`: one page of the ids of a plugin's users holding data; `scope` is `[workspace, plugin, '']`. */
export function users(scope: ScopeContext, options?: UsersOptions): Promise<UsersPage> {
  return childPage(scope, 'users', options).then(({ names, cursor }) =>
    cursor === undefined ? { ids: names } : { ids: names, cursor },
  )
}

/**
 * A page of child names of `scope`. The user-level marker `''` sorts before every name, so only a first page can
 * meet it: that page asks for one more name and leaves it out (a plugin's users are listed by `users()`, never as
 * a child scope).
 */
async function childPage(
  scope: ScopeContext,
  kind: 'scopes' | 'users',
  options: ScopesOptions | undefined,
): Promise<{ names: string[]; cursor?: string }> {
  const opts = scope.options(kind, options, ['limit', 'cursor'])
  const limit = pageSize(scope, `${kind}.limit`, opts.limit)
  const after = decodeCursor(scope, `${kind}.cursor`, kind, opts.cursor)
  const now = scope.engine.clock()
  const hidden = after === undefined && isPluginPath(scope.path) ? 1 : 0
  const query = after === undefined ? { limit: limit + 1 + hidden, now } : { after, limit: limit + 1, now }
  let names = await scope.engine.call(() => scope.engine.backend.scopes(scope.path, query))
  if (names[0] === USER_LEVEL) names = names.slice(1)
  if (names.length <= limit) return { names }
  const page = names.slice(0, limit)
  return { names: page, cursor: encodeCursor(scope, kind, page[page.length - 1]!) }
}
