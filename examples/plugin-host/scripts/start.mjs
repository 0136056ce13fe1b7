#!/usr/bin/env node
/**
 * `npm start` from the repository root: builds the plugin host and the packages it uses when they are out of date
 * (turbo's cache makes this a no-op when nothing changed), then runs it in this process, in the current folder, so
 * the SQLite default lands in ./data/cubby.db. It never installs anything: missing dependencies are reported.
 * `CUBBY_SKIP_BUILD=1` skips the build (for a deployment or a test run that has just built everything).
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const turbo = fileURLToPath(new URL('../../../node_modules/.bin/turbo', import.meta.url))

if (!existsSync(turbo)) {
  console.error('Dependencies are not installed. Run `npm install` (or `npm ci`) at the repository root first.')
  process.exit(1)
}

if (process.env.CUBBY_SKIP_BUILD !== '1') {
  const build = spawnSync(
    turbo,
    ['run', 'build', '--filter=@cubby/example-plugin-host...', '--output-logs=errors-only'],
    {
      cwd: root,
      encoding: 'utf8',
      // No update check and no telemetry: starting the example makes no network calls of its own.
      env: { ...process.env, TURBO_NO_UPDATE_NOTIFIER: '1', TURBO_TELEMETRY_DISABLED: '1' },
    },
  )
  if (build.status !== 0) {
    process.stderr.write(build.stdout ?? '')
    process.stderr.write(build.stderr ?? '')
    console.error(`Building the plugin host failed${build.error ? `: ${build.error.message}` : ''}.`)
    process.exit(1)
  }
}

await import('../dist/main.js')
