/**
 * Escaping of object keys that superjson refuses.
 *
 * superjson throws ("prototype pollution risk") when any object key in a value is `__proto__`, `constructor` or
 * `prototype`, even when the special type that made us use superjson sits elsewhere. Those are ordinary keys of plain
 * objects, so before superjson sees a value the codec renames them by adding one `~` in front. A key that already
 * looks escaped (`~constructor`, `~~__proto__`, …) gets one more `~`, so the renaming is injective and decoding drops
 * exactly one `~` from every key of that shape. The codec only escapes when a value needs it, and marks such values
 * with their own kind bytes (`S`, `M`; see `format.ts`), so values written before escaping existed decode unchanged.
 */

const ESCAPABLE = /^~*(?:__proto__|constructor|prototype)$/

/** Whether `key` must be escaped before superjson sees it (and, in an escaped value, was escaped). */
export function needsEscape(key: string): boolean {
  // Cheap pre-checks: every escapable key is at least 9 characters long and ends in `_`, `r` or `e`.
  if (key.length < 9) return false
  const last = key.charCodeAt(key.length - 1)
  return (last === 0x5f || last === 0x72 || last === 0x65) && ESCAPABLE.test(key)
}

/**
 * A copy of `value` in which every plain object's escapable keys carry one more `~`. Plain objects, arrays, Maps and
 * Sets are copied (shared references and cycles stay shared, so superjson still restores them); everything else
 * (Dates, bytes, custom-type instances, …) is kept as is. Only called on values `classify` accepted.
 */
export function escapeKeys(value: unknown, isCustom: ((value: object) => boolean) | undefined): unknown {
  const copies = new Map<object, unknown>()
  const copy = (item: unknown): unknown => {
    if (typeof item !== 'object' || item === null || isCustom?.(item)) return item
    const done = copies.get(item)
    if (done !== undefined) return done
    const proto = Object.getPrototypeOf(item)
    if (proto === Array.prototype) {
      const out: unknown[] = []
      copies.set(item, out)
      for (const element of item as unknown[]) out.push(copy(element))
      return out
    }
    if (proto === Object.prototype || proto === null) {
      const out: Record<string, unknown> = {}
      copies.set(item, out)
      const record = item as Record<string, unknown>
      // An escaped key is never `__proto__`, so plain assignment creates an own property.
      for (const key of Object.keys(record)) out[needsEscape(key) ? `~${key}` : key] = copy(record[key])
      return out
    }
    if (proto === Map.prototype) {
      const out = new Map<unknown, unknown>()
      copies.set(item, out)
      for (const [key, element] of item as Map<unknown, unknown>) out.set(copy(key), copy(element))
      return out
    }
    if (proto === Set.prototype) {
      const out = new Set<unknown>()
      copies.set(item, out)
      for (const element of item as Set<unknown>) out.add(copy(element))
      return out
    }
    return item
  }
  return copy(value)
}

/**
 * Undoes `escapeKeys` in place on a freshly decoded value: every plain object key of the escaped shape loses one
 * `~`, defined as an own data property (so `__proto__` comes back as an own key and never touches a prototype), in
 * the original key order. Objects in `opaque` (what custom types deserialized) are left alone.
 */
export function unescapeKeys(root: unknown, opaque: WeakSet<object>): void {
  const seen = new Set<object>()
  const pending: unknown[] = [root]
  while (pending.length > 0) {
    const item = pending.pop()
    if (typeof item !== 'object' || item === null || seen.has(item) || opaque.has(item)) continue
    seen.add(item)
    if (Array.isArray(item)) {
      for (const element of item) pending.push(element)
    } else if (item instanceof Map) {
      for (const [key, element] of item) pending.push(key, element)
    } else if (item instanceof Set) {
      for (const element of item) pending.push(element)
    } else {
      const proto = Object.getPrototypeOf(item)
      if (proto !== Object.prototype && proto !== null) continue
      const record = item as Record<string, unknown>
      const keys = Object.keys(record)
      const values = keys.map((key) => record[key])
      for (const element of values) pending.push(element)
      if (!keys.some(needsEscape)) continue
      // Re-add every key (renaming the escaped ones) so the original order is kept.
      for (const key of keys) delete record[key]
      keys.forEach((key, i) => {
        Object.defineProperty(record, needsEscape(key) ? key.slice(1) : key, {
          value: values[i],
          writable: true,
          enumerable: true,
          configurable: true,
        })
      })
    }
  }
}
