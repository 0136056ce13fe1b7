import type { Cubby } from '@cubby/core'
import { entryPages, walkScopes } from '../../src/raw.js'

/** Odd scope segments and keys: separators, escapes, NUL, emoji, astral characters, long strings. */
export const ODD_NAMES = [
  'a/b',
  '%2F',
  '%',
  'x%25y',
  ':',
  '*',
  '..',
  'nul\u0000',
  'emoji 🐈',
  '\u{10ffff}',
  'ü'.repeat(300),
]

/** Every value type Cubby round-trips. */
export function richValues(): Record<string, unknown> {
  return {
    int: 42,
    float: 1.5,
    negZero: -0,
    nan: Number.NaN,
    inf: Number.POSITIVE_INFINITY,
    str: 'text with "quotes" and \n newline',
    bool: true,
    nul: null,
    arr: [1, 'two', [3], { four: 4 }],
    obj: { nested: { deep: [null, false] }, undef: undefined },
    date: new Date('2024-02-29T12:34:56.789Z'),
    map: new Map<unknown, unknown>([
      ['k', 1],
      [2, new Set([3])],
    ]),
    set: new Set(['a', 'b']),
    big: 12345678901234567890n,
    regexp: /a+b/gi,
    bytes: new Uint8Array([0, 1, 2, 255, 254]),
    buffer: Buffer.from('raw bytes \u0000\u00ff'),
    nestedBytes: { file: new Uint8Array(1000).fill(7), name: 'f' },
    empty: '',
  }
}

/** Fills a store: rich values at the root, odd names in nested scopes, TTL'd entries, a 1 MB value. */
export async function fillDataset(cubby: Cubby): Promise<void> {
  const root = cubby.scope()
  await root.setMany(Object.entries(richValues()))
  for (const name of ODD_NAMES) {
    await cubby.scope(name).set(name, { name })
    await cubby.scope('odd', name, 'leaf').set('k', name)
  }
  const ttl = cubby.scope('ttl')
  await ttl.set('short', 'soon', { ttl: 3_600_000 })
  await ttl.set('long', 'later', { ttl: 30 * 86_400_000 })
  await ttl.set('none', 'forever')
  await cubby.scope('big').set('blob', new Uint8Array(1024 * 1024).fill(9))
  const many = cubby.scope('workspace', 'plugin', 'many')
  await many.setMany(Array.from({ length: 1500 }, (_, i) => [`key-${String(i).padStart(5, '0')}`, { i }] as const))
  await cubby.scope('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h').set('deepest', 8)
}

/** Every live entry at or below `root`: scope, key, value bytes (base64) and expiry, in walk order. */
export async function snapshot(
  cubby: Cubby,
  root: string[] = [],
): Promise<{ scope: string[]; key: string; value: string; expiresAt?: number }[]> {
  const out: { scope: string[]; key: string; value: string; expiresAt?: number }[] = []
  for await (const scope of walkScopes(cubby, root)) {
    for await (const page of entryPages(cubby, scope, { values: true })) {
      for (const row of page) {
        const entry = {
          scope: scope.slice(root.length),
          key: row.key,
          value: Buffer.from(row.value!).toString('base64'),
        }
        out.push(row.expiresAt === undefined ? entry : { ...entry, expiresAt: row.expiresAt })
      }
    }
  }
  return out
}

/** Number of entries `fillDataset` writes. */
export const DATASET_SIZE = Object.keys(richValues()).length + 2 * ODD_NAMES.length + 3 + 1 + 1500 + 1
