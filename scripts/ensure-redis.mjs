#!/usr/bin/env node
// `npm run test:all` runs this first: the Redis tests start their own redis-server and need `redis-server` and
// `redis-cli` on the PATH. When they are missing, it says so and installs Debian's redis-server with apt-get (as
// root, or through sudo, which may ask for your password), as CI's .ci/run does. Elsewhere it prints how to install
// it and exits 1. It never starts anything.
import { spawnSync } from 'node:child_process'

const has = (command) => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0

if (has('redis-server') && has('redis-cli')) process.exit(0)

if (!has('apt-get')) {
  console.error(
    'The Redis tests need redis-server and redis-cli on the PATH, and this is not a Debian/Ubuntu system.\n' +
      'Install Redis (e.g. `brew install redis`, `dnf install redis`), then run `npm test`.',
  )
  process.exit(1)
}

const root = process.getuid?.() === 0
if (!root && !has('sudo')) {
  console.error('redis-server is missing and installing it needs root: run `apt-get install redis-server` as root.')
  process.exit(1)
}
console.error(`redis-server is missing; installing Debian's redis-server with ${root ? '' : 'sudo '}apt-get...`)
// `env` sets DEBIAN_FRONTEND for apt-get itself, also through sudo (which would drop it from our environment).
const sh = (args) => {
  const command = ['env', 'DEBIAN_FRONTEND=noninteractive', ...args]
  return spawnSync(root ? command[0] : 'sudo', root ? command.slice(1) : command, { stdio: 'inherit' }).status
}
if (sh(['apt-get', 'update', '-qq']) !== 0 || sh(['apt-get', 'install', '-y', '-qq', 'redis-server']) !== 0) {
  console.error(
    'Installing redis-server failed; install it yourself (apt-get install redis-server), then run npm test.',
  )
  process.exit(1)
}
if (!has('redis-server') || !has('redis-cli')) {
  console.error('apt-get finished, but redis-server or redis-cli is still not on the PATH.')
  process.exit(1)
}
