import { InvalidValueError, QuotaExceededError } from '../errors.js'
import { compareKeys } from '../keys.js'
import type { ListQuery, QuotaRule, Usage } from './contract.js'

/** The error a backend raises when `incr` meets a stored value that is not a number. */
export function notANumber(key: string): InvalidValueError {
  return new InvalidValueError(
    `incr: key ${JSON.stringify(key)} holds a value that is not a number; delete it or store a number first`,
  )
}

/**
 * The number `incr` stores: `current + by`, or throws `InvalidValueError` when storing it would lose information.
 * Every backend applies this rule (a Lua or SQL implementation must mirror it exactly):
 * - the sum must be finite (`Number.MAX_VALUE + Number.MAX_VALUE`, or a stored `NaN` or `Infinity`, is refused);
 * - when `current` and `by` are both integers, the sum must be a safe integer (`Number.isSafeInteger`): past 2^53
 *   adding 1 may change nothing, which would be a lost update.
 * A refused `incr` rejects its whole batch and writes nothing.
 */
export function incrSum(key: string, current: number, by: number): number {
  const sum = current + by
  if (!Number.isFinite(sum)) {
    throw new InvalidValueError(
      `incr: key ${JSON.stringify(key)} would hold ${sum} (${current} + ${by}), which is not a finite number; ` +
        'set it to a finite number first',
    )
  }
  if (Number.isInteger(current) && Number.isInteger(by) && !Number.isSafeInteger(sum)) {
    throw new InvalidValueError(
      `incr: ${current} + ${by} at key ${JSON.stringify(key)} is past Number.MAX_SAFE_INTEGER, where integer sums ` +
        'lose precision (an increment could vanish); store counters this large as a BigInt with update()',
    )
  }
  return sum
}

/** Whether `key` falls inside the range of a `ListQuery` (prefix, start, end, after). */
export function matchesQuery(key: string, query: Omit<ListQuery, 'limit' | 'values' | 'now'>): boolean {
  if (query.prefix !== undefined && !key.startsWith(query.prefix)) return false
  if (query.start !== undefined && compareKeys(key, query.start) < 0) return false
  if (query.end !== undefined && compareKeys(key, query.end) >= 0) return false
  if (query.after !== undefined) {
    const order = compareKeys(key, query.after)
    if (query.reverse ? order >= 0 : order <= 0) return false
  }
  return true
}

/**
 * Checks one quota rule against a subtree's usage before and after a batch, and returns the error to raise, if any.
 * A dimension is only enforced when the batch increases it, so deletes always succeed, even over quota.
 */
export function quotaCheck(rule: QuotaRule, before: Usage, after: Usage): QuotaExceededError | undefined {
  if (rule.maxBytes !== undefined && after.bytes > before.bytes && after.bytes > rule.maxBytes) {
    return new QuotaExceededError({
      scope: rule.scope,
      dimension: 'bytes',
      limit: rule.maxBytes,
      used: before.bytes,
      requested: after.bytes - before.bytes,
    })
  }
  if (rule.maxKeys !== undefined && after.keys > before.keys && after.keys > rule.maxKeys) {
    return new QuotaExceededError({
      scope: rule.scope,
      dimension: 'keys',
      limit: rule.maxKeys,
      used: before.keys,
      requested: after.keys - before.keys,
    })
  }
  return undefined
}

/**
 * The smallest string greater than every string that starts with `prefix`, in code point order, or undefined when
 * there is none (a prefix of only U+10FFFF). Keys with the prefix are exactly those in `[prefix, prefixEnd(prefix))`.
 */
export function prefixEnd(prefix: string): string | undefined {
  const points = Array.from(prefix, (char) => char.codePointAt(0)!)
  while (points.length > 0) {
    const last = points.pop()!
    if (last < 0x10ffff) {
      points.push(last + 1 === 0xd800 ? 0xe000 : last + 1)
      return String.fromCodePoint(...points)
    }
  }
  return undefined
}
