import type { Backend } from '@cubby/core'

/** Direct reads of what a backend really stored, bypassing Cubby's API, so tests can check the actual state. */
export interface Backdoor {
  /** The stored value bytes and expiry of a key, ignoring expiry (expired-but-unreclaimed entries included); undefined when not physically stored. */
  read(scope: readonly string[], key: string): Promise<{ value: Uint8Array; expiresAt?: number } | undefined>
  /** How many entries the scope physically holds as its own keys (expired-but-unreclaimed included). */
  count(scope: readonly string[]): Promise<number>
}

/** One fresh storage, created for one test. */
export interface ConformanceHandle {
  /** A backend on a fresh, empty storage. The suite opens a cubby on it and closes it (which closes the backend). */
  backend: Backend
  /** Another backend on the same storage, as a second process or host instance would open it. The suite closes it. */
  peer(): Promise<Backend>
  /** Direct reads of the storage. */
  backdoor: Backdoor
  /** Removes the storage (files, keys, connections used by the backdoor). Called after the cubbies are closed. */
  cleanup?(): Promise<void>
}

/** What a backend package passes to `runConformance`. */
export interface ConformanceTarget {
  /** Shown in test names, e.g. `'sqlite (file)'`. */
  name: string
  /**
   * Creates a fresh, empty storage. `clock` is the test's clock (it may be a fake one that tests advance): give it
   * to the backend for background work such as expiry sweeps.
   */
  create(options: { clock: () => number }): Promise<ConformanceHandle>
}
