import { incrSum, notANumber, type OpResult, QuotaExceededError, type WriteOp } from '@cubby/core/backend'
import { type BatchRecord, type Item, versionText } from './write-batch.js'
import { settleBulk } from './write-bulk.js'

/** What the writer must still do for a request the script did not finish. */
export type FollowUp = 'js' | 'reclaim'

/** The reply of one write-script call. */
export interface Reply {
  /** The script refused the whole call: the group's registration marker is missing. */
  register: boolean
  /** Cluster: the call lowered the group's earliest expiry to this (register it in P:xg). */
  lowered: number | undefined
  /** A block of versions granted for bulk writes: first version and size (write-bulk.ts). */
  grant?: [number, number]
  /** The server did not know the block of versions a bulk run named: it gave versions of its own. */
  lost?: boolean
}

/**
 * Settles the items of a call from the script's reply (format in lua/write.ts): resolves results, rejects refusals,
 * and hands requests that need more work (`incr` in JavaScript, a quota refusal worth a sweep) to `followUp`.
 */
export function settleReply(
  raw: unknown,
  records: BatchRecord[],
  followUp: (item: Item, what: FollowUp) => void,
): Reply {
  const text = Buffer.isBuffer(raw) ? raw.toString('latin1') : String(raw)
  if (text === 'g') return { register: true, lowered: undefined }
  const bar = text.indexOf('|')
  const lowered = bar > 0 ? Number(text.slice(0, bar)) : undefined
  let at = bar + 1
  const reply: Reply = { register: false, lowered }
  for (const record of records) {
    let end = text.indexOf(';', at)
    if (end < 0) end = text.length
    if (!record.plain) settleGeneral(text.slice(at, end), record.item, followUp)
    else if (!record.bulk) settleRun(text, at, end, record.items)
    else {
      const { own, grant } = settleBulk(text, at, end, record.items, record.bulk.start)
      if (!own && record.bulk.start !== undefined) reply.lost = true
      if (grant) reply.grant = grant
    }
    at = end + 1
  }
  return reply
}

/** `P<first version>:<existed bit per op>`: versions are consecutive across the run. */
function settleRun(text: string, start: number, end: number, items: Item[]): void {
  const colon = text.indexOf(':', start)
  let version = Number(text.slice(start + 1, colon))
  let bit = colon + 1
  for (const item of items) {
    const count = item.request.ops.length
    const ops = item.request.ops as unknown as ReadonlyArray<{ value: Uint8Array }>
    if (count === 1) {
      const result = { existed: text.charCodeAt(bit++) === 49, version: versionText(version++, ops[0]!.value) }
      item.resolve({ ok: true, results: [result] })
      continue
    }
    const results: OpResult[] = new Array(count)
    for (let i = 0; i < count; i++) {
      results[i] = { existed: text.charCodeAt(bit++) === 49, version: versionText(version++, ops[i]!.value) }
    }
    item.resolve({ ok: true, results })
  }
  if (bit !== end)
    throw new Error(`the write script answered ${bit - colon - 1} results for a run of ${end - colon - 1}`)
}

function settleGeneral(record: string, item: Item, followUp: (item: Item, what: FollowUp) => void): void {
  const { request } = item
  const status = record[0]
  const fields = record.slice(1)
  const op = (index: string): WriteOp => request.ops[Number(index) - 1]!
  switch (status) {
    case 'o': {
      const results: OpResult[] = []
      if (fields !== '') {
        for (const part of fields.split(',')) {
          const [existed, version, number] = part.split(':')
          const result: OpResult = { existed: existed === '1' }
          if (version) result.version = version
          if (number) result.number = Number(number)
          results.push(result)
        }
      }
      item.resolve({ ok: true, results })
      return
    }
    case 'c':
      item.resolve({ ok: false })
      return
    case 'n':
      item.reject(notANumber(op(fields).key))
      return
    case 'r': {
      const [index, base] = fields.split(':')
      const target = op(index!)
      try {
        incrSum(target.key, Number(base), target.type === 'incr' ? target.by : 0)
        item.reject(new Error(`the write script refused incr of ${JSON.stringify(target.key)} that incrSum allows`))
      } catch (error) {
        item.reject(error)
      }
      return
    }
    case 'q': {
      const [rule, dimension, limit, used, requested] = fields.split(':')
      item.reject(
        new QuotaExceededError({
          scope: request.quotas[Number(rule) - 1]!.scope,
          dimension: dimension === 'k' ? 'keys' : 'bytes',
          limit: Number(limit),
          used: Number(used),
          requested: Number(requested),
        }),
      )
      return
    }
    case 'j':
      followUp(item, 'js')
      return
    case 'x':
      followUp(item, 'reclaim')
      return
    default:
      item.reject(new Error(`unexpected reply from the write script: ${JSON.stringify(record.slice(0, 40))}`))
  }
}
