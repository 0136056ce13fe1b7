import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { openCubby } from '@cubby/core'

const WORKER = fileURLToPath(new URL('./incr-worker.js', import.meta.url))

/** Result of one contention run. */
export interface IncrRun {
  opsPerSec: number
  lost: number
}

/**
 * `processes` processes x `lanes` concurrent incr each, `perProcess` increments per process, either all on one key
 * (contended) or each process on its own key (uncontended). Checks the final counts: `lost` must be 0.
 */
export async function incrContention(
  url: string,
  processes: number,
  perProcess: number,
  lanes: number,
  contended: boolean,
): Promise<IncrRun> {
  const run = `${contended ? 'shared' : 'own'}-${process.hrtime.bigint()}`
  const keys = Array.from({ length: processes }, (_, i) => (contended ? run : `${run}-${i}`))
  const workers = keys.map((key) => fork(WORKER, [url, key, String(perProcess), String(lanes)], { stdio: 'inherit' }))
  const message = (worker: (typeof workers)[number], expected: string) =>
    new Promise<void>((resolve, reject) => {
      worker.once('message', (m) => (m === expected ? resolve() : reject(new Error(`worker said ${String(m)}`))))
      worker.once('exit', (code) => code !== 0 && reject(new Error(`incr worker exited with ${code}`)))
    })
  await Promise.all(workers.map((w) => message(w, 'ready')))
  const started = process.hrtime.bigint()
  const done = workers.map((w) => message(w, 'done'))
  for (const w of workers) w.send('go')
  await Promise.all(done)
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const cubby = await openCubby(url)
  const store = cubby.scope('bench', 'incr')
  let total = 0
  for (const key of new Set(keys)) total += (await store.get<number>(key)) ?? 0
  await cubby.close()
  return { opsPerSec: (processes * perProcess) / seconds, lost: processes * perProcess - total }
}
