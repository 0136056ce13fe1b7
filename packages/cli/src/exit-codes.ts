import { CubbyError } from '@cubby/core'

/**
 * Exit codes of `cubby`. Scripts can rely on them; they never change meaning.
 */
export const EXIT = {
  /** Success. */
  OK: 0,
  /** A runtime or backend error: connection refused, disk full, a corrupt import line, a conflict. */
  ERROR: 1,
  /** Bad usage: unknown command or option, malformed argument, invalid key or scope, bad URL. */
  USAGE: 2,
  /** `get` or `delete` found no such key. */
  NOT_FOUND: 3,
  /** Data did not verify: `migrate` found the target differs from the source, or an import file is truncated. */
  MISMATCH: 4,
  /** Interrupted by Ctrl-C (SIGINT) before an export, import or migrate finished; `watch` exits 0 instead. */
  INTERRUPTED: 130,
  /** Stopped by SIGTERM before an export, import or migrate finished; `watch` exits 0 instead. */
  TERMINATED: 143,
  /** Standard output was closed by its reader (EPIPE, e.g. `cubby export | head`): the output is incomplete. */
  BROKEN_PIPE: 141,
} as const

/** One of the values of `EXIT`. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT]

/** An error the CLI reports as one line (no stack) and turns into an exit code. */
export class CliError extends Error {
  /** The process exit code this error leads to. */
  readonly exitCode: ExitCode
  /** A short machine-readable tag printed before the message, e.g. `USAGE` or a CubbyError code. */
  readonly code: string

  constructor(exitCode: ExitCode, code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.exitCode = exitCode
    this.code = code
  }
}

/** A bad argument: exit code 2. */
export function usageError(message: string): CliError {
  return new CliError(EXIT.USAGE, 'USAGE', message)
}

/** Cubby codes that mean "the arguments were wrong", so they exit 2 rather than 1. */
const USAGE_CODES = new Set(['INVALID_KEY', 'INVALID_SCOPE', 'INVALID_CONFIG'])

/** The exit code and one-line report for any error a command raised. */
export function describeError(error: unknown): { exitCode: ExitCode; line: string } {
  if (error instanceof CliError) return { exitCode: error.exitCode, line: `${error.code}: ${error.message}` }
  if (error instanceof CubbyError) {
    const exitCode = USAGE_CODES.has(error.code) ? EXIT.USAGE : EXIT.ERROR
    // The driver's message often says what actually went wrong (ECONNREFUSED, SQLITE_FULL); show it once.
    const cause = error.cause instanceof Error && !error.message.includes(error.cause.message) ? error.cause : undefined
    return { exitCode, line: `${error.code}: ${error.message}${cause ? ` (${cause.message})` : ''}` }
  }
  const code = (error as { code?: unknown })?.code
  const tag = typeof code === 'string' ? code : 'ERROR'
  const message = error instanceof Error ? error.message : String(error)
  // Node's file errors already start with their code ("ENOENT: no such file or directory, open 'x'").
  return { exitCode: EXIT.ERROR, line: message.startsWith(`${tag}:`) ? message : `${tag}: ${message}` }
}
