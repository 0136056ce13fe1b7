import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { assertFreshDist } from '@cubby/conformance'
import { expect, it } from 'vitest'

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url))

it('runs end to end on the memory family and writes its results (a smoke test, not a timing)', () => {
  assertFreshDist(
    ['core', 'backend-memory', 'backend-sqlite', 'backend-redis']
      .map((name) => fileURLToPath(new URL(`../../packages/${name}`, import.meta.url)))
      .concat(fileURLToPath(new URL('..', import.meta.url))),
  )
  const out = mkdtempSync(join(tmpdir(), 'cubby-bench-'))
  try {
    const run = spawnSync(
      process.execPath,
      [MAIN, '--quick', '--families', 'memory', '--shapes', 'small', '--out', out],
      {
        encoding: 'utf8',
        timeout: 120_000,
      },
    )
    expect(run.status, run.stderr).toBe(0)
    const results = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8'))
    expect(results.cases.length).toBe(3 * 7) // three targets x seven kinds of work
    expect(readFileSync(join(out, 'latest.md'), 'utf8')).toContain('| get, sequential |')
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
})
