// Loads a package installed by scripts/ensure-extras.mjs into .extras/node_modules (see scripts/extra-deps.json).
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

/** The repository's `.extras` directory. */
export const extrasDir = join(dirname(dirname(fileURLToPath(import.meta.url))), '.extras')

/**
 * Imports `name` from `.extras/node_modules`; rejects saying to run `node scripts/ensure-extras.mjs` when it is not
 * installed there.
 * @param {string} name
 * @returns {Promise<any>}
 */
export async function importExtra(name) {
  const dir = join(extrasDir, 'node_modules', name)
  const manifest = join(dir, 'package.json')
  if (!existsSync(manifest)) {
    throw new Error(
      `${name} is not installed in .extras: run \`node scripts/ensure-extras.mjs\` (npm run test:all does)`,
    )
  }
  return import(pathToFileURL(join(dir, esmEntry(JSON.parse(readFileSync(manifest, 'utf8'))))).href)
}

/** The ESM entry file of a package manifest: `exports['.']`'s import (or default) target, else `module`, else `main`. */
function esmEntry(pkg) {
  let target = pkg.exports?.['.'] ?? pkg.exports
  while (target && typeof target === 'object') target = target.import ?? target.default ?? target.node
  return typeof target === 'string' ? target : (pkg.module ?? pkg.main ?? 'index.js')
}
