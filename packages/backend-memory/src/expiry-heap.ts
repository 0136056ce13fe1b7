/** One scheduled expiry. Stale items (the key was rewritten since) are recognised by `version` and skipped. */
export interface ExpiryItem {
  at: number
  scopeId: string
  key: string
  version: string
}

/**
 * A binary min-heap of expiries by time, so reclaiming what is due costs O(k log n), not a scan. Rewriting a key
 * leaves its old item behind (recognised as stale when it falls due); the owner calls `retain` to drop stale items
 * once they outnumber the live ones, so the heap stays proportional to the keys that really expire.
 */
export class ExpiryHeap {
  private readonly items: ExpiryItem[] = []

  get size(): number {
    return this.items.length
  }

  push(item: ExpiryItem): void {
    const items = this.items
    items.push(item)
    let i = items.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (items[parent]!.at <= item.at) break
      items[i] = items[parent]!
      i = parent
    }
    items[i] = item
  }

  /** Keeps only the items `keep` accepts, restoring heap order in O(n). */
  retain(keep: (item: ExpiryItem) => boolean): void {
    const items = this.items
    let n = 0
    for (const item of items) if (keep(item)) items[n++] = item
    items.length = n
    for (let i = (n >> 1) - 1; i >= 0; i--) this.siftDown(i, items[i]!)
  }

  /** Removes and returns the earliest item if it is due at `now`. */
  popDue(now: number): ExpiryItem | undefined {
    const items = this.items
    const top = items[0]
    if (top === undefined || top.at > now) return undefined
    const last = items.pop()!
    if (items.length > 0) this.siftDown(0, last)
    return top
  }

  /** Places `item` at `start` or below, moving smaller children up. */
  private siftDown(start: number, item: ExpiryItem): void {
    const items = this.items
    let i = start
    for (;;) {
      const left = 2 * i + 1
      if (left >= items.length) break
      const right = left + 1
      const child = right < items.length && items[right]!.at < items[left]!.at ? right : left
      if (items[child]!.at >= item.at) break
      items[i] = items[child]!
      i = child
    }
    items[i] = item
  }
}
