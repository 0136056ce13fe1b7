import { join } from 'node:path'
import { openCubby } from '@cubby/core'
import { expect, it } from 'vitest'
import { exited, fixture, tempDir } from './support.js'

const dir = tempDir()

it('loses no incr or update with 4 processes x 8 concurrent workers on one file', async () => {
  const file = join(dir, 'contention.db')
  const processes = 4
  const workers = 8
  const rounds = 25
  const started = Date.now()
  await Promise.all(
    Array.from({ length: processes }, (_, p) =>
      exited(fixture('contend.mjs', [file, String(workers), String(rounds), `p${p}`])),
    ),
  )
  const seconds = (Date.now() - started) / 1000
  const cubby = await openCubby(`sqlite:${file}`)
  const store = cubby.scope('contention')
  const total = processes * workers * rounds
  expect(await store.get('counter')).toBe(total)
  expect((await store.get<{ count: number }>('doc'))?.count).toBe(total)
  console.log(
    `[sqlite multi-process] ${total} incr + ${total} update from ${processes} processes in ${seconds.toFixed(1)} s`,
  )
  await cubby.close()
})
