import type { FrameWriter, WireListQuery } from '@cubby/backend-remote/wire'
import { InvalidConfigError } from '@cubby/core'
import type { StoredEntry } from '@cubby/core/backend'
import type { RawScope } from '@cubby/core/raw'
import type { HandlerContext, Reply } from './handlers.js'
import { checkReply, getResultBytes, listResultBytes, uniqueKeys } from './replies.js'

/**
 * GET with its answer bounded by `maxFrameBytes`: a repeated key is read once (its entry is shared in the answer),
 * and an answer that would not fit in one frame is refused with `ReplyTooLargeError` before any frame is built.
 */
export async function boundedGet(
  ctx: HandlerContext,
  raw: RawScope,
  keys: readonly string[],
  values: boolean,
): Promise<(StoredEntry | undefined)[]> {
  const { maxBatchSize } = ctx.cubby.limits
  if (keys.length > maxBatchSize) {
    throw new InvalidConfigError(
      'get.keys',
      `has ${keys.length} keys, over limits.maxBatchSize (${maxBatchSize}); split it`,
    )
  }
  let entries: (StoredEntry | undefined)[]
  if (keys.length === 1) entries = await raw.get(keys, { values })
  else {
    const { unique, index } = uniqueKeys(keys)
    const found = await raw.get(unique, { values })
    entries = index.map((i) => found[i])
  }
  const max = ctx.options.maxFrameBytes
  const bytes = getResultBytes(entries)
  const fits = Math.max(1, Math.floor((keys.length * max) / (bytes + 5)))
  checkReply('get.keys', bytes, max, `read fewer keys per call (about ${fits} of these would fit)`)
  return entries
}

/**
 * LIST with the backend's read and the answer bounded by `maxFrameBytes`: a page with values reads at most that
 * many value bytes (plus the entry that reaches it), and a page that would not fit in one frame is refused with
 * `ReplyTooLargeError` (a client that asked for no `maxBytes` expects a full page, so it is never cut short).
 */
export async function boundedList(ctx: HandlerContext, raw: RawScope, query: WireListQuery): Promise<StoredEntry[]> {
  const max = ctx.options.maxFrameBytes
  const budget = query.values && (query.maxBytes === undefined || query.maxBytes > max)
  const entries = await raw.list(budget ? { ...query, maxBytes: max } : query)
  const maxValue = ctx.cubby.limits.maxValueBytes
  const hint = max > 2 * maxValue ? `, or set maxBytes to at most ${max - maxValue - (1 << 16)}` : ''
  checkReply(
    'list.limit',
    listResultBytes(entries),
    max,
    `ask for a smaller page (limit)${hint} and continue after the last key`,
  )
  return entries
}

/** `write` with its exact body size attached, so the connection allocates the frame once. */
export function sized(bytes: number, write: (w: FrameWriter) => void): Reply {
  const reply: Reply = write
  reply.bytes = bytes
  return reply
}
