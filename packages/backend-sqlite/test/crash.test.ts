import { join } from 'node:path'
import { openCubby } from '@cubby/core'
import Database from 'better-sqlite3'
import { expect, it } from 'vitest'
import { exited, fixture, lines, tempDir } from './support.js'

const dir = tempDir()

it.each(['normal', 'strict'])(
  'keeps every acknowledged write after SIGKILL mid-stream (durability %s)',
  async (durability) => {
    const file = join(dir, `crash-${durability}.db`)
    const child = fixture('crash-writer.mjs', [file, durability])
    const done = exited(child)
    const acked: string[] = []
    let batches = 0
    await new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error('the writer acknowledged too little in 60 s')), 60_000)
      lines(child, (line) => {
        if (line.startsWith('batch ')) batches++
        else acked.push(line)
        if (acked.length >= 600 && child.exitCode === null && !child.killed) {
          clearTimeout(deadline)
          child.kill('SIGKILL') // while more writes are in flight
          resolve()
        }
      })
      done.catch(reject)
    })
    await done
    const raw = new Database(file)
    expect(raw.pragma('integrity_check', { simple: true })).toBe('ok')
    raw.close()
    const cubby = await openCubby(`sqlite:${file}`)
    const store = cubby.scope('crash')
    const found = await store.getMany(acked)
    const missing = acked.filter((_, i) => found[i] === undefined)
    expect(missing).toEqual([])
    expect((await store.get<number>('acked-batches')) ?? 0).toBeGreaterThanOrEqual(batches)
    await cubby.close()
  },
)
