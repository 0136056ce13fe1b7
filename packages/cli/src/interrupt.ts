import { EXIT, type ExitCode } from './exit-codes.js'

/** The abort reason `cubby` uses for a signal: an `AbortError` that remembers which signal it was. */
export type Interrupt = DOMException & { signal: NodeJS.Signals }

/** An abort reason for `signal`, for `AbortController.abort()`. */
export function interrupted(signal: NodeJS.Signals): Interrupt {
  return Object.assign(new DOMException(`interrupted by ${signal}`, 'AbortError'), { signal })
}

/** Whether `error` is what an aborted `signal` throws (its reason, or a plain `AbortError`). */
export function isInterrupt(error: unknown, signal: AbortSignal | undefined): boolean {
  if (!signal?.aborted) return false
  return error === signal.reason || (error as { name?: string })?.name === 'AbortError'
}

/** The exit code of an interrupted job: 143 for SIGTERM, else 130 (SIGINT, or an abort from code). */
export function interruptCode(signal: AbortSignal): ExitCode {
  return (signal.reason as Partial<Interrupt> | undefined)?.signal === 'SIGTERM' ? EXIT.TERMINATED : EXIT.INTERRUPTED
}
