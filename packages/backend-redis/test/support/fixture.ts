import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const BUILT = fileURLToPath(new URL('../../dist/index.js', import.meta.url))

/** Runs a fixture script (which uses the built packages) to completion; rejects with its stderr on failure. */
export function runFixture(name: string, args: string[]): Promise<void> {
  if (!existsSync(BUILT)) throw new Error('packages/backend-redis is not built: run `npm run build` (npm test does)')
  const child = spawn(process.execPath, [fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url)), ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr.on('data', (chunk) => {
    stderr += chunk
  })
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${name} exited with ${code}: ${stderr}`))))
  })
}
