/** The two value shapes every workload runs with. */
export interface ValueShape {
  name: string
  make(i: number): unknown
}

/** A ~100-byte JSON object, the typical plugin record. */
export const SMALL: ValueShape = {
  name: '100 B JSON',
  make: (i) => ({
    id: i,
    name: `widget-${String(i).padStart(6, '0')}`,
    tags: ['alpha', 'beta'],
    price: 9.99,
    active: true,
    owner: { id: 42, name: 'ann' },
  }),
}

const TEXT = 'lorem ipsum dolor sit amet, '.repeat(400).slice(0, 10 * 1024 - 40)

/** A 10 KiB value: a record with a long text field. */
export const LARGE: ValueShape = {
  name: '10 KiB JSON',
  make: (i) => ({ id: i, body: TEXT }),
}

/** Key number `i`, zero-padded so byte order equals numeric order. */
export function keyOf(i: number): string {
  return `key:${String(i).padStart(6, '0')}`
}
