import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { assertFreshDist } from '@cubby/conformance'
import { expect, it } from 'vitest'

it('assertFreshDist refuses a missing dist or one older than its sources, naming the fix', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cubby-fresh-'))
  try {
    await mkdir(join(dir, 'src'))
    await writeFile(join(dir, 'src', 'a.ts'), '')
    expect(() => assertFreshDist([dir])).toThrow(/run `npm run build`/)
    await mkdir(join(dir, 'dist'))
    await writeFile(join(dir, 'dist', 'a.js'), '')
    const old = new Date(Date.now() - 60_000)
    await utimes(join(dir, 'dist', 'a.js'), old, old)
    expect(() => assertFreshDist([dir])).toThrow(new RegExp(`older than the sources of ${dir}`))
    const now = new Date()
    await utimes(join(dir, 'dist', 'a.js'), now, now)
    await utimes(join(dir, 'src', 'a.ts'), old, old)
    expect(() => assertFreshDist([dir])).not.toThrow()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
