import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { exited, fixture, lines, openSqlite, outcome, tempDir, waitFor } from './support.js'

const dir = tempDir()

/** Another connection (in this process: SQLite still locks between connections) that holds the write lock. */
function holdLock(file: string): { release(): void } {
  const db = new Database(file)
  db.exec('BEGIN IMMEDIATE')
  db.prepare("UPDATE scopes SET counter = counter WHERE path = ''").run()
  return {
    release: () => {
      db.exec('COMMIT')
      db.close()
    },
  }
}

describe('another connection holding the lock', () => {
  it('waits on a timer, not in SQLite’s busy handler: the event loop keeps running, then the writes commit', async () => {
    const file = join(dir, 'wait.db')
    const { cubby, internals } = await openSqlite(file, { busyTimeoutMs: 5000 })
    const store = cubby.scope('s')
    await store.set('n', 1)
    const lock = holdLock(file)
    let released = false
    // Only the event loop can release the lock: if waiting froze it, these writes would time out instead.
    setTimeout(() => {
      released = true
      lock.release()
    }, 300)
    const results = await Promise.all([
      outcome(store.set('a', 1)),
      outcome(store.incr('n')),
      outcome(store.update('u', () => 'x')),
      outcome(store.delete('gone')),
    ])
    expect(released).toBe(true)
    expect(results).toEqual(['ok', 'ok', 'ok', 'ok'])
    expect(await store.getMany(['a', 'n', 'u'])).toEqual([1, 2, 'x'])
    expect(internals.writer.stats.lockWaits).toBeGreaterThan(0)
    await cubby.close()
  })

  it('fails a write with BACKEND once it has waited busyTimeoutMs; a later write waits from its own start', async () => {
    const file = join(dir, 'timeout.db')
    const { cubby } = await openSqlite(file, { busyTimeoutMs: 2000 })
    const store = cubby.scope('s')
    await store.set('k', 'before')
    const lock = holdLock(file)
    const started = Date.now()
    const first = store.set('k', 'first').catch((error: unknown) => error)
    await waitFor(() => Date.now() - started >= 1000, 'half of busyTimeoutMs to pass')
    let secondDone = false
    const second = outcome(store.set('k', 'second')).finally(() => {
      secondDone = true
    })
    expect(await first).toMatchObject({
      code: 'BACKEND',
      message: expect.stringMatching(/locked by another connection for over 2000 ms \(busyTimeoutMs\)/),
    })
    expect(secondDone).toBe(false) // still within its own wait
    lock.release()
    expect(await second).toBe('ok')
    expect(await store.get('k')).toBe('second')
    await cubby.close()
  })

  it('lets incr and update ride out another process’s bursts of writes: nothing fails, nothing is lost', async () => {
    const file = join(dir, 'bursts.db')
    const { cubby } = await openSqlite(file, { busyTimeoutMs: 3000 })
    const store = cubby.scope('s')
    await store.set('warm', 1)
    const holder = fixture('lock-bursts.mjs', [file, '40', '5'], { stdin: 'pipe' })
    const holderDone = exited(holder)
    await new Promise<void>((resolve) => lines(holder, (line) => line === 'locking' && resolve()))
    const workers = 8
    const rounds = 25
    const failures: string[] = []
    await Promise.all(
      Array.from({ length: workers }, async () => {
        for (let i = 0; i < rounds; i++) {
          for (const result of await Promise.all([
            outcome(store.incr('n')),
            outcome(store.update<number>('u', (v) => (v ?? 0) + 1)),
          ])) {
            if (result !== 'ok') failures.push(result)
          }
        }
      }),
    )
    holder.stdin?.end()
    await holderDone
    expect(failures).toEqual([])
    expect(await store.getMany(['n', 'u'])).toEqual([workers * rounds, workers * rounds])
    await cubby.close()
  })

  it('lets a read that meets a lock (rare in WAL mode) retry on a timer, then fail with BACKEND past busyTimeoutMs', async () => {
    const { cubby, backend } = await openSqlite(join(dir, 'read-lock.db'), { busyTimeoutMs: 1000 })
    const store = cubby.scope('s')
    await store.set('k', 'v')
    // SQLite makes a WAL reader wait only in rare moments (another process recovering the WAL, or switching a new
    // file to WAL), which a test cannot produce on demand: the read statement reports SQLITE_BUSY instead.
    const statements = (backend as unknown as { statements: { getValue: { get: (...a: unknown[]) => unknown } } })
      .statements
    const real = statements.getValue.get.bind(statements.getValue)
    let busyFor = 3
    statements.getValue.get = (...args: unknown[]) => {
      if (busyFor-- > 0) throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' })
      return real(...args)
    }
    let ticked = false
    setImmediate(() => {
      ticked = true
    })
    expect(await store.get('k')).toBe('v')
    expect(busyFor).toBeLessThan(0) // it met the lock three times and retried
    expect(ticked).toBe(true) // on timers: the loop ran meanwhile
    busyFor = Number.POSITIVE_INFINITY
    await expect(store.get('k')).rejects.toMatchObject({
      code: 'BACKEND',
      message: expect.stringMatching(/locked by another connection for over 1000 ms/),
    })
    busyFor = 0
    expect(await store.get('k')).toBe('v')
    await cubby.close()
  })

  it('close() lets a write waiting for the lock settle before releasing the file', async () => {
    const file = join(dir, 'close-wait.db')
    const { cubby } = await openSqlite(file, { busyTimeoutMs: 5000 })
    await cubby.scope('s').set('warm', 1)
    const lock = holdLock(file)
    const write = outcome(cubby.scope('s').set('k', 'v'))
    const closing = cubby.close()
    setTimeout(() => lock.release(), 100)
    await closing
    expect(await write).toBe('ok')
    const raw = new Database(file, { readonly: true })
    expect(raw.prepare("SELECT count(*) FROM entries WHERE key = 'k'").pluck().get()).toBe(1)
    raw.close()
  })
})

describe('the event loop', () => {
  it('gets a turn during a long run of awaited writes', async () => {
    const { cubby } = await openSqlite(join(dir, 'turns.db'))
    const store = cubby.scope('s')
    let immediate = false
    setImmediate(() => {
      immediate = true
    })
    let ranDuringLoop = false
    for (let i = 0; i < 3000; i++) {
      await store.set(`k${i % 10}`, i)
      if (immediate) ranDuringLoop = true
    }
    expect(ranDuringLoop).toBe(true)
    await cubby.close()
  })

  it('close() lets reads in flight settle (usage, scopes, get, list)', async () => {
    const { cubby } = await openSqlite(join(dir, 'close-reads.db'))
    const store = cubby.scope('s')
    await store.set('k', 1)
    await store.scope('child').set('c', 1, { ttl: 60_000 })
    const inFlight = [
      store.usage(),
      store.scopes(),
      store.get('k'),
      store.list(),
      store.set('late', 2),
      store.incr('n'),
    ].map((p) => outcome(p))
    await cubby.close()
    expect(await Promise.all(inFlight)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok'])
  })
})
