import {
  type FrameReader,
  type FrameWriter,
  Op,
  readListQuery,
  readWrite,
  writeGetResult,
  writeListResult,
  writeWriteResult,
} from '@cubby/backend-remote/wire'
import type { Cubby, Usage } from '@cubby/core'
import { ForbiddenError, InvalidConfigError } from '@cubby/core'
import type { WriteOp } from '@cubby/core/backend'
import type { RawScope } from '@cubby/core/raw'
import { type Region, requirePermission, resolve, type Session } from './access.js'
import { boundedGet, boundedList, sized } from './bounded-reads.js'
import { getResultBytes, listResultBytes } from './replies.js'
import type { RawScopes } from './views.js'
import { viewAt } from './views.js'

/** What a handler needs from the server. */
export interface HandlerContext {
  cubby: Cubby
  raw: RawScopes
  /** Every answer fits in one frame of `maxFrameBytes`. */
  options: { maxFrameBytes: number }
}

/** Writes a RESULT body; `bytes`, when known, is its exact size (the frame is allocated once). */
export type Reply = ((w: FrameWriter) => void) & { bytes?: number }

const NOTHING: Reply = () => {}

/** Runs one data request (GET … USAGE) for `session`; watch ops are handled by the connection. */
export async function handle(ctx: HandlerContext, session: Session, op: number, r: FrameReader): Promise<Reply> {
  const rel = r.path()
  const { path, region } = resolve(session, rel)
  switch (op) {
    case Op.GET: {
      requirePermission(session, 'read', 'get')
      const values = r.u8() === 1
      const keys: string[] = []
      for (let n = r.u32(), i = 0; i < n; i++) keys.push(r.str())
      r.end()
      const raw = scope(ctx, path, region)
      const entries = await boundedGet(ctx, raw, keys, values)
      const now = raw.now()
      return sized(getResultBytes(entries), (w) => writeGetResult(w, entries, now))
    }
    case Op.WRITE: {
      requirePermission(session, 'write', 'a write')
      const batch = readWrite(r)
      r.end()
      if (batch.quotas.length > 0 && !session.root) {
        throw new ForbiddenError('quota caps are the server’s; only a root token may add its own')
      }
      const raw = scope(ctx, path, region)
      // An empty atomic() commit writes nothing and succeeds (RawScope refuses empty batches).
      if (batch.ops.length === 0 && batch.checks.length === 0)
        return (w) => writeWriteResult(w, { ok: true, results: [] })
      const now = raw.now()
      const ops = batch.ops.map((op, i): WriteOp => {
        if (op.type === 'delete' || op.ttl === undefined) return op as WriteOp
        if (!Number.isFinite(op.ttl) || op.ttl < 1) {
          throw new InvalidConfigError(`write.ops[${i}].ttl`, 'must be a positive number of milliseconds')
        }
        const { ttl, ...rest } = op
        return { ...rest, expiresAt: now + Math.ceil(ttl) } as WriteOp
      })
      const quotas = batch.quotas.map((rule) => ({ ...rule, scope: [...session.base, ...rule.scope] }))
      const result = await raw.write({ checks: batch.checks, ops, quotas })
      return (w) => writeWriteResult(w, result)
    }
    case Op.LIST: {
      requirePermission(session, 'read', 'list')
      const query = readListQuery(r)
      r.end()
      const raw = scope(ctx, path, region)
      const entries = await boundedList(ctx, raw, query)
      const now = raw.now()
      return sized(listResultBytes(entries), (w) => writeListResult(w, entries, now))
    }
    case Op.SCOPES: {
      requirePermission(session, 'read', 'scopes')
      const limit = r.u32()
      const after = r.u8() === 1 ? r.str() : undefined
      r.end()
      const names = await scopes(ctx, session, path, region, limit, after)
      return (w) => {
        w.u32(names.length)
        for (const name of names) w.str(name)
      }
    }
    case Op.USAGE: {
      requirePermission(session, 'read', 'usage')
      r.end()
      const usage = region === 'plugin' ? await pluginUsage(ctx, session, path) : await scope(ctx, path, region).usage()
      return (w) => w.f64(usage.keys).f64(usage.bytes)
    }
    case Op.CLEAR: {
      requirePermission(session, 'write', 'clear')
      r.end()
      scope(ctx, path, region) // validates the path like every other call
      const count = await viewAt(ctx.cubby, path).clear()
      return (w) => w.f64(count)
    }
    case Op.DROP: {
      requirePermission(session, 'write', 'drop')
      r.end()
      if (region === 'plugin') {
        throw new ForbiddenError(
          "drop of the plugin's whole store would remove its users' data too (an uninstall, the host's job); " +
            'drop sub-scopes, or clear()',
        )
      }
      scope(ctx, path, region)
      await viewAt(ctx.cubby, path).drop()
      return NOTHING
    }
    default:
      throw new InvalidConfigError('op', `unknown operation 0x${op.toString(16)}`)
  }
}

/** The raw scope of a data path; the user level itself is only listable. */
function scope(ctx: HandlerContext, path: string[], region: Region): RawScope {
  if (region === 'users') {
    throw new ForbiddenError('the user level holds no data of its own; a token opens only its own user’s scope')
  }
  return ctx.raw.at(path)
}

/**
 * Child scope names. At the plugin's scope the user level (`''`) is hidden from a plugin token (it reveals whether
 * any user holds data); at the user level a plugin token sees at most its own user.
 */
async function scopes(
  ctx: HandlerContext,
  session: Session,
  path: string[],
  region: Region,
  limit: number,
  after: string | undefined,
): Promise<string[]> {
  if (region === 'users') {
    const user = session.user
    if (user === undefined || (after !== undefined && Buffer.compare(Buffer.from(user), Buffer.from(after)) <= 0)) {
      return []
    }
    const usage = await ctx.raw.at([...path, user]).usage()
    return usage.keys > 0 ? [user] : []
  }
  const raw = ctx.raw.at(path)
  if (region !== 'plugin' || after !== undefined) return raw.scopes(after === undefined ? { limit } : { after, limit })
  const names = await raw.scopes({ limit: limit + 1 })
  if (names[0] === '') names.shift()
  return names.slice(0, limit)
}

/**
 * Usage of a plugin's scope as a plugin token sees it: its own keys and its sub-scopes, plus the token's user's
 * scope, never the other users'. From the backend's counters: usage of the plugin's subtree, less the user level's,
 * plus the token's user's (O(depth) on the bundled backends, never a read of values). The three calls start in one
 * synchronous run, so a backend that answers synchronously (memory, SQLite) gives a snapshot; on others a write
 * landing between them may skew the figure by that write (it is clamped at zero).
 */
async function pluginUsage(ctx: HandlerContext, session: Session, path: string[]): Promise<Usage> {
  const [all, users, mine] = await Promise.all([
    ctx.raw.at(path).usage(),
    ctx.raw.at([...path, '']).usage(),
    session.user === undefined ? undefined : ctx.raw.at([...path, '', session.user]).usage(),
  ])
  return {
    keys: Math.max(0, all.keys - users.keys + (mine?.keys ?? 0)),
    bytes: Math.max(0, all.bytes - users.bytes + (mine?.bytes ?? 0)),
  }
}
