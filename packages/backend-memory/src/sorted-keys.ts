import { compareKeys } from '@cubby/core/backend'

/**
 * A scope's keys in UTF-8 byte order, maintained lazily: new keys are appended and the array is re-sorted only when
 * a listing needs it (TimSort merges a sorted run plus a short tail in near-linear time); removed keys stay until
 * they make up half the array. Callers skip removed keys by checking their entry map.
 */
export class SortedKeys {
  private keys: string[] = []
  private sorted = true
  private readonly removed = new Set<string>()

  /** Records a key that was not present before. */
  add(key: string): void {
    if (this.removed.size > 0 && this.removed.delete(key)) return // still in the array
    const last = this.keys[this.keys.length - 1]
    if (this.sorted && last !== undefined && compareKeys(last, key) > 0) this.sorted = false
    this.keys.push(key)
  }

  /** Records that a present key was removed. */
  remove(key: string): void {
    this.removed.add(key)
    if (this.removed.size > 64 && this.removed.size * 2 > this.keys.length) {
      this.keys = this.keys.filter((k) => !this.removed.has(k))
      this.removed.clear()
    }
  }

  /** The sorted array (may include removed keys). */
  view(): readonly string[] {
    if (!this.sorted) {
      this.keys.sort(compareKeys)
      this.sorted = true
    }
    return this.keys
  }

  /** Index of the first key `>= bound` (or `> bound` when `exclusive`). */
  static lowerBound(keys: readonly string[], bound: string, exclusive: boolean): number {
    let lo = 0
    let hi = keys.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const order = compareKeys(keys[mid]!, bound)
      if (order < 0 || (exclusive && order === 0)) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}
