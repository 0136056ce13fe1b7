import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** The built `cubby` binary. */
export const BIN = fileURLToPath(new URL('../../dist/bin.js', import.meta.url))

/** The packages whose `dist` the binary runs: tests that spawn it check they are built from the current sources. */
export const BUILT_PACKAGES = ['core', 'backend-memory', 'backend-sqlite', 'backend-redis', 'cli'].map((name) =>
  fileURLToPath(new URL(`../../../${name}`, import.meta.url)),
)

/** A running `cubby` child process whose output is collected as it arrives. */
export interface CubbyProcess {
  child: ChildProcessWithoutNullStreams
  stdout(): string
  stderr(): string
  /** Resolves once `pattern` matches stdout (or stderr with `from: 'stderr'`); rejects if the process exits first. */
  waitFor(pattern: RegExp, from?: 'stdout' | 'stderr'): Promise<void>
  /** Resolves with the exit code (or the signal name when killed by one). */
  exited: Promise<number | string | null>
}

/** Starts the built `cubby` with `args`; only PATH is inherited from the environment, plus `env`. */
export function startCubby(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): CubbyProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  const out = { stdout: '', stderr: '' }
  const checks = new Set<() => void>()
  const onData = (name: 'stdout' | 'stderr') => (chunk: Buffer) => {
    out[name] += chunk
    for (const check of checks) check()
  }
  child.stdout.on('data', onData('stdout'))
  child.stderr.on('data', onData('stderr'))
  const exited = new Promise<number | string | null>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => {
      for (const check of checks) check()
      resolve(code ?? signal)
    })
  })
  return {
    child,
    stdout: () => out.stdout,
    stderr: () => out.stderr,
    exited,
    waitFor: (pattern, from = 'stdout') =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (pattern.test(out[from])) {
            checks.delete(check)
            resolve()
          } else if (child.exitCode !== null || child.signalCode !== null) {
            checks.delete(check)
            reject(new Error(`cubby exited before ${pattern} appeared:\n${out.stdout}\n${out.stderr}`))
          }
        }
        checks.add(check)
        check()
      }),
  }
}

/** Runs the built `cubby` to the end. */
export async function runCubby(
  args: string[],
  options: { env?: Record<string, string>; stdin?: string; cwd?: string } = {},
): Promise<{ code: number | string | null; stdout: string; stderr: string }> {
  const running = startCubby(args, options)
  running.child.stdin.end(options.stdin ?? '')
  const code = await running.exited
  return { code, stdout: running.stdout(), stderr: running.stderr() }
}
