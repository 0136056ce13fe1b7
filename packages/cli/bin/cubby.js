#!/usr/bin/env node
// The `cubby` command. This file is committed (not built), so npm links it as a bin when it installs, also in the
// Cubby repository, where `npm ci` runs before `dist` exists: `npx cubby` works there as soon as it is built.
import { existsSync } from 'node:fs'

const built = new URL('../dist/bin.js', import.meta.url)
if (!existsSync(built)) {
  process.stderr.write('cubby: the CLI is not built yet; run `npm run build` in the repository first\n')
  process.exit(1)
}
await import(built.href)
