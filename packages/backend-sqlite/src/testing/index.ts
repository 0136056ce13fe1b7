/**
 * `@cubby/backend-sqlite/testing`: looks inside a `SqliteBackend`, for tests only (the writer's counters, the
 * database handle, the sweeper, the checkpoint thread, the scope-id cache). Not part of the backend's API.
 */
import type Database from 'better-sqlite3'
import type { SqliteBackend } from '../sqlite-backend.js'

/** What tests read of a backend's insides. */
export interface Internals {
  /** The connection the backend writes with. */
  db: Database.Database
  /** The group-commit writer's counters. */
  writer: { stats: { transactions: number; jobs: number; lockWaits: number; replays: number } }
  /** The background expiry sweep, when enabled. */
  sweep: { start(): void } | undefined
  /** The checkpoint thread's owner (none for `:memory:` or read-only). */
  checkpointer: { stats: { started: boolean; checkpoints: number; lastError: string | undefined } } | undefined
  /** The scope-id cache's two generations. */
  ids: { byText: { young: Map<string, unknown>; old: Map<string, unknown> } }
}

/** The insides of `backend`. */
export function internals(backend: SqliteBackend): Internals {
  return backend as unknown as Internals
}
