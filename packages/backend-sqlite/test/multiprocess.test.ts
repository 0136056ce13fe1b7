import { join } from 'node:path'
import { openCubby } from '@cubby/core'
import { expect, it } from 'vitest'
import { exited, fixture, lines, tempDir } from './support.js'

const dir = tempDir()

interface Run {
  start: number
  end: number
  errors: string[]
}

it('loses no incr or update with 4 processes x 8 concurrent workers on one file, all running at once', async () => {
  const file = join(dir, 'contention.db')
  const processes = 4
  const workers = 8
  const rounds = 100
  const seed = await openCubby(`sqlite:${file}`) // create the file first: the test is about writers, not opening
  await seed.close()
  const runs: Promise<Run>[] = []
  const ready: Promise<void>[] = []
  const exits: Promise<unknown>[] = []
  const children = Array.from({ length: processes }, (_, p) =>
    fixture('contend.mjs', [file, String(workers), String(rounds), `p${p}`], { stdin: 'pipe' }),
  )
  for (const child of children) {
    const done = exited(child)
    exits.push(done)
    ready.push(new Promise((resolve) => lines(child, (line) => line === 'ready' && resolve())))
    runs.push(
      new Promise((resolve, reject) => {
        lines(child, (line) => line.startsWith('{') && resolve(JSON.parse(line) as Run))
        done.catch(reject)
      }),
    )
  }
  await Promise.all(ready) // every process has opened the file: start them together
  for (const child of children) child.stdin?.write('go\n')
  const results = await Promise.all(runs)
  await Promise.all(exits)

  expect(results.flatMap((run) => run.errors)).toEqual([])
  // Every pair of processes ran at the same time: the latest start is before the earliest end.
  const latestStart = Math.max(...results.map((run) => run.start))
  const earliestEnd = Math.min(...results.map((run) => run.end))
  expect(latestStart).toBeLessThan(earliestEnd)
  const cubby = await openCubby(`sqlite:${file}`)
  const store = cubby.scope('contention')
  const total = processes * workers * rounds
  expect(await store.get('counter')).toBe(total)
  expect((await store.get<{ count: number }>('doc'))?.count).toBe(total)
  const span = Math.max(...results.map((run) => run.end)) - Math.min(...results.map((run) => run.start))
  console.log(
    `[sqlite multi-process] ${total} incr + ${total} update from ${processes} processes in ${span} ms; all four overlapped for ${earliestEnd - latestStart} ms`,
  )
  await cubby.close()
})
