import { openCubby } from '@cubby/core'
import { afterAll, expect, it } from 'vitest'
import { exited, fixture, lines } from './support/process.js'
import { startPostgres } from './support/server.js'

const server = await startPostgres()
afterAll(() => server.stop())

/** Resolves once `check` holds, checked on every stdout line; fails after a wide margin. */
function until(what: string, check: () => boolean, wake: (listener: () => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 60_000)
    wake(() => {
      if (!check()) return
      clearTimeout(deadline)
      resolve()
    })
  })
}

it('loses no acknowledged write when PostgreSQL is killed and restarted mid-load, and the open cubby recovers', async () => {
  const schema = 'crash'
  const child = fixture('crash-writer.mjs', [server.url, schema])
  const done = exited(child)
  const acked: string[] = []
  const failures: string[] = []
  const listeners = new Set<() => void>()
  lines(child, (line) => {
    if (line.startsWith('ok ')) acked.push(line.slice(3))
    else if (line.startsWith('fail ')) failures.push(line.slice(5))
    for (const listener of listeners) listener()
  })
  const wake = (listener: () => void) => listeners.add(listener)
  await until('writes before the crash', () => acked.length >= 400, wake)
  await server.kill() // pg_ctl stop -m immediate, with writes in flight
  await until('calls failing while the server is down', () => failures.length >= 20, wake)
  const beforeRestart = acked.length
  await server.start()
  await until('writes after the restart', () => acked.length >= beforeRestart + 400, wake)
  child.kill('SIGKILL')
  await done
  // Calls failed with BACKEND while the server was down, and the same cubby wrote again after it came back.
  expect(new Set(failures)).toEqual(new Set(['BACKEND']))
  const cubby = await openCubby({ url: server.url, schema })
  const store = cubby.scope('crash')
  const found = await store.getMany(acked)
  expect(acked.filter((_, i) => found[i] === undefined)).toEqual([])
  console.log(
    `[postgres crash] ${acked.length} acknowledged writes (${beforeRestart} before the restart) all present; ${failures.length} calls failed with BACKEND while down`,
  )
  await cubby.close()
})
