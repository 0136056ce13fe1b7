#!/usr/bin/env node
// `npm run test:all` runs this (after ensure-redis): the PostgreSQL tests start their own server with Debian's
// `initdb` and `pg_ctl` from /usr/lib/postgresql/<version>/bin. When none is there, it says so and installs Debian's
// postgresql with apt-get (as root, or through sudo, which may ask for your password), as CI's .ci/run does.
// Elsewhere it prints how to install it and exits 1. It never starts anything (the package's postinst may start the
// distribution's own cluster, which the tests do not use).
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'

const ROOT = '/usr/lib/postgresql'
const has = (command) => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0
const installed = () =>
  existsSync(ROOT) && readdirSync(ROOT).some((version) => existsSync(`${ROOT}/${version}/bin/initdb`))

if (installed()) process.exit(0)

if (!has('apt-get')) {
  console.error(
    `The PostgreSQL tests need initdb and pg_ctl under ${ROOT}/<version>/bin (Debian's layout), and this is not a Debian/Ubuntu system.\n` +
      'Install PostgreSQL and set CUBBY_PG_BIN to the folder holding initdb and pg_ctl, then run `npm test`.',
  )
  process.exit(1)
}

const root = process.getuid?.() === 0
if (!root && !has('sudo')) {
  console.error('postgresql is missing and installing it needs root: run `apt-get install postgresql` as root.')
  process.exit(1)
}
console.error(`postgresql is missing; installing Debian's postgresql with ${root ? '' : 'sudo '}apt-get...`)
// `env` sets DEBIAN_FRONTEND for apt-get itself, also through sudo (which would drop it from our environment).
const sh = (args) => {
  const command = ['env', 'DEBIAN_FRONTEND=noninteractive', ...args]
  return spawnSync(root ? command[0] : 'sudo', root ? command.slice(1) : command, { stdio: 'inherit' }).status
}
if (sh(['apt-get', 'update', '-qq']) !== 0 || sh(['apt-get', 'install', '-y', '-qq', 'postgresql']) !== 0) {
  console.error('Installing postgresql failed; install it yourself (apt-get install postgresql), then run npm test.')
  process.exit(1)
}
if (!installed()) {
  console.error(`apt-get finished, but no ${ROOT}/<version>/bin/initdb is there.`)
  process.exit(1)
}
