import { BackendError, CubbyError } from './errors.js'

/**
 * Wraps anything that is not already a `CubbyError` into a `BackendError` keeping it as `cause`; `who` names what
 * failed, e.g. "the sqlite backend". Internal to core: kept out of `errors.ts`, whose exports are all public.
 */
export function asCubbyError(error: unknown, who: string): CubbyError {
  if (error instanceof CubbyError) return error
  const detail =
    error instanceof Error ? error.message : typeof error === 'string' ? error : `a thrown ${typeof error} value`
  return new BackendError(`${who} failed: ${detail}`, { cause: error })
}
