/**
 * What a benchmark target does. Every target implements the same work with its own means: Cubby through its API,
 * a raw driver with JSON.stringify/parse, keyv through its API.
 */
export interface Target {
  /** e.g. `cubby`, `raw driver`, `keyv` */
  name: string
  set(key: string, value: unknown): Promise<void>
  get(key: string): Promise<unknown>
  setMany(entries: Array<[string, unknown]>): Promise<void>
  getMany(keys: string[]): Promise<unknown[]>
  /** Reads every entry in key order, `pageSize` at a time; resolves to how many it read. */
  listAll(pageSize: number): Promise<number>
  /** Prepares `listAll` after the keys were written (e.g. a raw driver builds its own index); untimed. */
  prepareList?(keys: string[]): Promise<void>
  /** Removes everything this target wrote; untimed. */
  clear(): Promise<void>
  close(): Promise<void>
}

/** Makes a fresh target. */
export type TargetFactory = () => Promise<Target>
