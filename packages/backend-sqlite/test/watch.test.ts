import { join } from 'node:path'
import { type ChangeEvent, type Cubby, openCubby } from '@cubby/core'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { exited, fixture, fixtureJson, lines, tempDir, waitFor } from './support.js'

const dir = tempDir()

/** The next event of a watch, or a failure naming what was awaited after `ms` (a missed event fails fast). */
async function next(iterator: AsyncIterator<ChangeEvent>, what: string, ms = 15_000): Promise<ChangeEvent> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no watch event within ${ms} ms: ${what}`)), ms)
  })
  try {
    const result = await Promise.race([iterator.next(), deadline])
    if (result.done) throw new Error(`the watch ended while waiting for ${what}`)
    return result.value
  } finally {
    clearTimeout(timer)
  }
}

/** Registered watchers of a scope, read from the file. */
function registrations(file: string, path: string): number {
  const raw = new Database(file, { readonly: true })
  try {
    return raw
      .prepare('SELECT count(*) FROM watchers w JOIN scopes s ON s.id = w.scope WHERE s.path = ?')
      .pluck()
      .get(path) as number
  } finally {
    raw.close()
  }
}

describe('cross-process watch', () => {
  it('delivers another process’s writes in order, with a median latency well under 250 ms', async () => {
    const file = join(dir, 'watch.db')
    const cubby = await openCubby(`sqlite:${file}`)
    const watch = cubby.scope('feed').watch()
    await watch.ready
    const sent = new Map<string, number>()
    const latencies: number[] = []
    const events: string[] = []
    const count = 100
    const child = fixture('watch-writer.mjs', [file, String(count)])
    lines(child, (line) => {
      const [i, at] = line.split(' ')
      sent.set(`k${i}`, Number(at))
    })
    const writer = exited(child)
    const iterator = watch[Symbol.asyncIterator]()
    for (;;) {
      const event = await next(iterator, `event ${events.length + 1} of ${count + 1}`)
      events.push(`${event.type}:${event.key}`)
      if (event.type === 'set') latencies.push(Date.now() - (sent.get(event.key) ?? Date.now()))
      if (event.type === 'delete') break
    }
    await writer
    expect(events).toEqual([...Array.from({ length: count }, (_, i) => `set:k${i}`), 'delete:k0'])
    latencies.sort((a, b) => a - b)
    const p50 = latencies[Math.floor(latencies.length / 2)]!
    const max = latencies[latencies.length - 1]!
    console.log(`[sqlite watch] cross-process latency p50 ${p50} ms, max ${max} ms (poll every 50 ms)`)
    expect(p50).toBeLessThan(250) // the bound; typically ~25 ms (half the poll interval)
    await cubby.close()
  })

  it('unregisters a scope when its last watch closes; other watches of the process stay registered', async () => {
    const file = join(dir, 'close-one.db')
    const cubby = await openCubby(`sqlite:${file}`)
    const a = cubby.scope('a').watch()
    const a2 = cubby.scope('a').watch()
    const b = cubby.scope('b').watch()
    await Promise.all([a.ready, a2.ready, b.ready])
    expect([registrations(file, 'a'), registrations(file, 'b')]).toEqual([1, 1])
    a.close()
    await new Promise((resolve) => setImmediate(resolve))
    expect(registrations(file, 'a')).toBe(1) // a2 still watches it
    a2.close()
    await waitFor(() => registrations(file, 'a') === 0, 'the registration of scope a to go')
    expect(registrations(file, 'b')).toBe(1)
    const peer = await openCubby(`sqlite:${file}`)
    await peer.scope('a').set('x', 1)
    await peer.scope('b').set('y', 1)
    const raw = new Database(file, { readonly: true })
    const logged = raw.prepare('SELECT s.path FROM changes c JOIN scopes s ON s.id = c.scope').pluck().all()
    raw.close()
    expect(logged).toEqual(['b']) // nobody watches a: its writes are not logged
    const iterator = b[Symbol.asyncIterator]()
    expect(await next(iterator, 'the write to b')).toMatchObject({ type: 'set', key: 'y' })
    await peer.close()
    await cubby.close()
  })

  it('keeps change-log rows a watcher of another process needs, even when the pruning process retains less', async () => {
    const file = join(dir, 'retention.db')
    const cubby = await openCubby(`sqlite:${file}`) // registers changeRetentionMs 60000 with its watch
    const watch = cubby.scope('w').watch()
    await watch.ready
    expect(await fixtureJson('prune-changes.mjs', [file, 'write'])).toEqual({ changes: 10 })
    watch.close()
    await waitFor(() => registrations(file, 'w') === 0, 'the watch registration to go')
    expect(await fixtureJson('prune-changes.mjs', [file, 'sweep'])).toEqual({ changes: 0 })
    await cubby.close()
  })

  it('fails a watch that fell behind a pruned log, even one that started on an empty log', async () => {
    const file = join(dir, 'pruned.db')
    const cubby: Cubby = await openCubby({ url: `sqlite:${file}`, changeRetentionMs: 1 })
    const watch = cubby.scope('w').watch()
    await watch.ready
    const child = fixture('prune-changes.mjs', [file, 'write'])
    const done = exited(child)
    // Block this process's event loop (as a stalled consumer would) until the other process has written and
    // pruned everything: this watch never read any of it.
    const raw = new Database(file, { readonly: true })
    const written = raw.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'changes'").pluck()
    const left = raw.prepare('SELECT count(*) FROM changes').pluck()
    const pause = new Int32Array(new SharedArrayBuffer(4))
    const deadline = Date.now() + 30_000
    while (!((written.get() as number | undefined) === 10 && left.get() === 0) && Date.now() < deadline) {
      Atomics.wait(pause, 0, 0, 10)
    }
    raw.close()
    await done
    const iterator = watch[Symbol.asyncIterator]()
    const failure = await next(iterator, 'the pruned-log error').catch((error: unknown) => error)
    expect(failure).toMatchObject({ code: 'BACKEND', message: expect.stringMatching(/pruned past what this watch/) })
    await cubby.close()
  })
})
