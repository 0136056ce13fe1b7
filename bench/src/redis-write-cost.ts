/**
 * `node dist/redis-write-cost.js`: where the time of one Redis write goes. Runs each kind of write through the public
 * API against a fresh redis-server and reports, per operation: wall time, this process's CPU time (the client side:
 * core, the backend's JavaScript, the driver, the socket write), top-level commands sent (round trips when awaited
 * one by one), the server's time for them (`INFO commandstats`, usec) and the commands the write function ran inside,
 * each with its calls per operation and server µs per call. The raw client's `SET` / `MSET` run alongside as the floor.
 * Options: --n 5000 (operations per phase), --rounds 3 (phases are repeated, interleaved; medians are reported).
 */
import { parseArgs } from 'node:util'
import { startRedis } from '@cubby/backend-redis/testing'
import { type KVStore, openCubby } from '@cubby/core'
import { createClient } from 'redis'
import { SMALL } from './values.js'

const { values: args } = parseArgs({
  options: { n: { type: 'string', default: '5000' }, rounds: { type: 'string', default: '3' } },
})
const n = Number(args.n)
const rounds = Number(args.rounds)

const server = await startRedis()
const admin = createClient({ url: server.url })
const raw = createClient({ url: server.url })
await admin.connect()
await raw.connect()
const cubby = await openCubby({ url: server.url, prefix: 'cost' })
const values = Array.from({ length: n }, (_, i) => SMALL.make(i))

interface Phase {
  name: string
  prepare?(store: KVStore, round: number): Promise<void>
  run(store: KVStore, round: number): Promise<void>
}

const keysOf = (round: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag}${round}-${i}`)
const PHASES: Phase[] = [
  {
    name: 'raw SET, awaited one by one',
    run: async (_, r) => sequential(keysOf(r, 'r'), (k, i) => raw.set(k, JSON.stringify(values[i]))),
  },
  {
    name: 'raw MSET, one call',
    run: async (_, r) =>
      void (await raw.mSet(keysOf(r, 'm').map((k, i) => [k, JSON.stringify(values[i])] as [string, string]))),
  },
  { name: 'set, new key, awaited', run: (s, r) => sequential(keysOf(r, 'k'), (k, i) => s.set(k, values[i])) },
  { name: 'set, overwrite, awaited', run: (s, r) => sequential(keysOf(r, 'k'), (k, i) => s.set(k, values[i])) },
  { name: 'delete, awaited', run: (s, r) => sequential(keysOf(r, 'k'), (k) => s.delete(k)) },
  {
    name: 'set, Promise.all (group commit)',
    // Once untimed first, as an application's later batches: the first bulk write of a group gets its versions
    // from the server's counter and the grant of a block, which the ones after it use (lua/write-bulk.ts).
    prepare: async (s, r) => void (await Promise.all(keysOf(r, 'pw').map((k, i) => s.set(k, values[i])))),
    run: async (s, r) => void (await Promise.all(keysOf(r, 'p').map((k, i) => s.set(k, values[i])))),
  },
  {
    name: 'setMany, one call',
    prepare: async (s, r) => void (await s.setMany(keysOf(r, 'sw').map((k, i) => [k, values[i]] as [string, unknown]))),
    run: async (s, r) => void (await s.setMany(keysOf(r, 's').map((k, i) => [k, values[i]] as [string, unknown]))),
  },
]

async function sequential(keys: string[], write: (key: string, i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < keys.length; i++) await write(keys[i]!, i)
}

interface Stat {
  calls: number
  usec: number
}

async function commandStats(): Promise<Map<string, Stat>> {
  const text = String(await admin.sendCommand(['INFO', 'commandstats']))
  const stats = new Map<string, Stat>()
  for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    if (/^(config|info)/.test(match[1]!)) continue
    stats.set(match[1]!, { calls: Number(match[2]), usec: Number(match[3]) })
  }
  return stats
}

/** What the client sends: the raw client its SET / MSET, Cubby one FCALL per call (every other command ran inside). */
const topLevel = (phase: string, command: string) =>
  phase.startsWith('raw') ? command !== 'fcall' : command === 'fcall'

interface Result {
  wall: number[]
  cpu: number[]
  top: number[]
  server: number[]
  inner: Map<string, { perOp: number[]; usPerCall: number[] }>
}
const results = new Map<string, Result>()

for (let round = 0; round < rounds; round++) {
  const store = cubby.scope('bench', `round${round}`)
  for (const phase of PHASES) {
    await phase.prepare?.(store, round)
    await admin.sendCommand(['CONFIG', 'RESETSTAT'])
    const cpu = process.cpuUsage()
    const start = performance.now()
    await phase.run(store, round)
    const wall = ((performance.now() - start) * 1000) / n
    const used = process.cpuUsage(cpu)
    const stats = await commandStats()
    let top = 0
    let serverUs = 0
    const result: Result = results.get(phase.name) ?? { wall: [], cpu: [], top: [], server: [], inner: new Map() }
    for (const [name, stat] of stats) {
      if (topLevel(phase.name, name)) {
        top += stat.calls
        serverUs += stat.usec
        continue
      }
      const inner = result.inner.get(name) ?? { perOp: [], usPerCall: [] }
      inner.perOp.push(stat.calls / n)
      inner.usPerCall.push(stat.usec / stat.calls)
      result.inner.set(name, inner)
    }
    result.wall.push(wall)
    result.cpu.push((used.user + used.system) / n)
    result.top.push(top / n)
    result.server.push(serverUs / n)
    results.set(phase.name, result)
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0
const f = (x: number, digits = 1) => x.toFixed(digits)
console.log(`${n} operations per phase, ${rounds} rounds, medians · 100 B JSON · Node ${process.version}`)
console.log(
  '| write | wall µs/op | client CPU µs/op | commands sent/op | server µs/op | inside the function: calls/op × µs/call |',
)
console.log('|---|---:|---:|---:|---:|---|')
for (const [name, r] of results) {
  const inner = [...r.inner]
    .map(([cmd, s]) => `${cmd} ${f(median(s.perOp), 2)}×${f(median(s.usPerCall), 2)}`)
    .join(', ')
  console.log(
    `| ${name} | ${f(median(r.wall))} | ${f(median(r.cpu))} | ${f(median(r.top), 3)} | ${f(median(r.server), 2)} | ${inner} |`,
  )
}
await cubby.close()
await raw.quit()
await admin.quit()
await server.stop()
