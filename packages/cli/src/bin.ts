#!/usr/bin/env node
import { EXIT } from './exit-codes.js'
import { interrupted } from './interrupt.js'
import { run } from './program.js'

// Ctrl-C / SIGTERM end long-running commands (watch, export, import, migrate) cleanly: `run` then returns 130 / 143
// (0 for watch). A second signal exits at once with the same code, without cleaning up.
const controller = new AbortController()
const stop = (signal: NodeJS.Signals) => {
  if (controller.signal.aborted) process.exit(signal === 'SIGINT' ? EXIT.INTERRUPTED : EXIT.TERMINATED)
  controller.abort(interrupted(signal))
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)

// EPIPE (e.g. `cubby export | head`): the reader is gone, so the output is incomplete. Stop quietly with 141, the
// code of a process killed by SIGPIPE, as other tools in a pipe do; `set -o pipefail` scripts see the failure.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(EXIT.BROKEN_PIPE)
  throw error
})

const code = await run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: controller.signal,
})
// An interrupted job's output is incomplete anyway: do not wait to flush it to a reader that may have stalled
// (`cubby export | a-stuck-reader`), which would keep the process alive after Ctrl-C.
if (code === EXIT.INTERRUPTED || code === EXIT.TERMINATED) process.exit(code)
process.exitCode = code
