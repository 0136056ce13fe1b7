#!/usr/bin/env node
import { run } from './program.js'

// Ctrl-C / SIGTERM end long-running commands (watch, export, import, migrate) cleanly; a second one exits at once.
const controller = new AbortController()
const stop = (signal: NodeJS.Signals) => {
  if (controller.signal.aborted) process.exit(signal === 'SIGINT' ? 130 : 143)
  controller.abort()
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)

// EPIPE (e.g. `cubby export | head`) means the reader is gone: stop quietly.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0)
  throw error
})

process.exitCode = await run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: controller.signal,
})
