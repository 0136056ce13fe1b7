import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

/** The newest modification time of the files under `dir` (0 when it does not exist). */
function newest(dir: string): number {
  let latest = 0
  let names: string[]
  try {
    names = readdirSync(dir, { recursive: true }) as string[]
  } catch {
    return 0
  }
  for (const name of names) {
    const stats = statSync(join(dir, name))
    if (stats.isFile()) latest = Math.max(latest, stats.mtimeMs)
  }
  return latest
}

/**
 * Throws, naming what to run, unless every package directory in `packages` has a `dist` at least as new as its
 * `src`: for tests that spawn built code (a child process runs `dist`, not the sources vitest runs), so a stale
 * build fails with a clear message instead of as a puzzling difference in behaviour.
 */
export function assertFreshDist(packages: readonly string[]): void {
  const stale = packages.filter((dir) => {
    const built = newest(join(dir, 'dist'))
    return built === 0 || newest(join(dir, 'src')) > built
  })
  if (stale.length > 0) {
    throw new Error(
      `the build is missing or older than the sources of ${stale.join(', ')}: run \`npm run build\` (or \`npm test\`, which builds first)`,
    )
  }
}
