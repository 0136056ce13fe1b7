/** Splits `items` into consecutive chunks of at most `size` items. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/** Groups entries by TTL (`undefined` = no expiry), keeping each entry's index in the input. */
export function groupByTtl<E extends { ttl?: number | undefined }>(
  entries: readonly E[],
): Map<number | undefined, Array<{ entry: E; index: number }>> {
  const groups = new Map<number | undefined, Array<{ entry: E; index: number }>>()
  entries.forEach((entry, index) => {
    // keyv passes `ttl: undefined` for "no expiry"; `null` and 0 mean the same to keyv.
    const ttl = typeof entry.ttl === 'number' && entry.ttl !== 0 ? entry.ttl : undefined
    const group = groups.get(ttl)
    if (group) group.push({ entry, index })
    else groups.set(ttl, [{ entry, index }])
  })
  return groups
}
