import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { InvalidConfigError } from '@cubby/core'

/**
 * Imports the optional peer dependency `name` (keyv or one of its adapters) the way the user's project would: from
 * `node_modules` at or above `dir` (the current directory unless `--modules` says otherwise), else from beside the
 * CLI. They are not dependencies of @cubby/cli, so the default install does not build what they need (sqlite3).
 */
// biome-ignore lint/suspicious/noExplicitAny: keyv's adapters are loaded at run time, untyped
export async function importPeer(name: string, dir: string, hint: string): Promise<any> {
  for (const base of [dir, dirname(new URL(import.meta.url).pathname)]) {
    const manifest = findManifest(name, base)
    if (manifest) return import(pathToFileURL(join(dirname(manifest), esmEntry(manifest))).href)
  }
  throw new InvalidConfigError(
    '--modules',
    `reading this keyv store needs ${name}, which is not installed in ${dir} or above: run \`npm install ${hint}\` ` +
      'in your project (or point --modules at a project that has it)',
  )
}

/** The package.json of `name` as Node would find it from `dir`, or undefined. */
function findManifest(name: string, dir: string): string | undefined {
  const require = createRequire(join(dir, 'noop.js'))
  for (const root of require.resolve.paths(name) ?? []) {
    const manifest = join(root, name, 'package.json')
    if (existsSync(manifest)) return manifest
  }
  return undefined
}

/** The ESM entry of a package: `exports['.']`'s import (or default) target, else `module`, else `main`. */
function esmEntry(manifest: string): string {
  const pkg = JSON.parse(readFileSync(manifest, 'utf8'))
  let target = pkg.exports?.['.'] ?? pkg.exports
  while (target && typeof target === 'object') target = target.import ?? target.default ?? target.node
  return typeof target === 'string' ? target : (pkg.module ?? pkg.main ?? 'index.js')
}
