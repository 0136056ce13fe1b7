/**
 * `npm run bench:keyv`: keyv over `@cubby/keyv` against keyv over its own adapters (@keyv/sqlite, @keyv/redis, and
 * keyv's in-memory Map), the same workloads as `npm run bench`, in one run. In the tables `cubby` is keyv on
 * `@cubby/keyv` and `keyv` is keyv on the keyv adapter; the ratios are what a keyv user gains by switching stores.
 * Both stores are open at once and their reps alternate (cubby, keyv, keyv, cubby, …), so load that comes and goes
 * on a shared machine weighs on both sides alike. Writes bench/results/keyv.md. Options: see `USAGE`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { startRedis } from '@cubby/backend-redis/testing'
import { createClient } from 'redis'
import type { Sample } from './measure.js'
import { type CaseResult, casesTable, rate } from './report.js'
import { keyvCubbyTarget, keyvMemoryTarget, keyvRedisTarget, keyvSqliteTarget } from './targets/keyv.js'
import type { Target, TargetFactory } from './targets/target.js'
import { LARGE, SMALL } from './values.js'
import { dataSet, WORKLOADS, type Workload } from './workloads.js'

const USAGE = `usage: node bench/dist/keyv-bench.js [options]
  --n 10000                      keys per workload
  --reps 5                       timed reps per target and workload (after one warm-up each), interleaved
  --families memory,sqlite,redis
  --shapes small,large
  --workloads all                or a list of: ${WORKLOADS.map((w) => w.id).join(',')}
  --out bench/results/           where keyv.md goes
  --help`

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '10000' },
    reps: { type: 'string', default: '5' },
    families: { type: 'string', default: 'memory,sqlite,redis' },
    shapes: { type: 'string', default: 'small,large' },
    workloads: { type: 'string', default: 'all' },
    out: { type: 'string', default: fileURLToPath(new URL('../results/', import.meta.url)) },
    help: { type: 'boolean', default: false },
  },
})
if (args.help) {
  process.stdout.write(`${USAGE}\n`)
  process.exit(0)
}
const n = Number(args.n)
const reps = Number(args.reps)
const families = args.families.split(',')
const shapes = args.shapes.split(',').map((s) => (s === 'large' ? LARGE : SMALL))
const workloads =
  args.workloads === 'all' ? WORKLOADS : WORKLOADS.filter((w) => args.workloads.split(',').includes(w.id))
if (!(n >= 1 && reps >= 1 && workloads.length > 0)) {
  process.stderr.write(`${USAGE}\n`)
  process.exit(2)
}
const labels = Object.fromEntries(WORKLOADS.map((w) => [w.id, w.label]))
const scratch = mkdtempSync(join(tmpdir(), 'cubby-bench-keyv-'))
const cases: CaseResult[] = []
/** CPU per operation (µs, medians over the reps) by `family|shape|workload|target`: this process, and the server. */
const costs = new Map<string, { node: number; server: number | undefined }>()
const loadBefore = loadavg()

/**
 * Times `workload` on every target: one warm-up each, then `reps` rounds in which each target runs once, the order
 * reversed every other round. Each run of a writing workload starts from an empty store (untimed `clear`).
 */
async function measureInterleaved(
  workload: Workload,
  targets: Target[],
  keys: string[],
  values: unknown[],
  serverCpu: (() => Promise<number>) | undefined,
): Promise<Array<{ sample: Sample; node: number; server: number | undefined }>> {
  const once = async (target: Target): Promise<{ rate: number; node: number; server: number | undefined }> => {
    if (workload.writes) await target.clear()
    const serverBefore = await serverCpu?.()
    const cpu = process.cpuUsage()
    const started = process.hrtime.bigint()
    await workload.run(target, keys, values)
    const seconds = Number(process.hrtime.bigint() - started) / 1e9
    const used = process.cpuUsage(cpu)
    const server = serverBefore === undefined ? undefined : ((await serverCpu!()) - serverBefore) / n
    return { rate: n / seconds, node: (used.user + used.system) / n, server }
  }
  for (const target of targets) await once(target)
  const runs: Array<Array<Awaited<ReturnType<typeof once>>>> = targets.map(() => [])
  for (let round = 0; round < reps; round++) {
    const order = targets.map((_, i) => i)
    if (round % 2 === 1) order.reverse()
    for (const i of order) runs[i]!.push(await once(targets[i]!))
  }
  return runs.map((list) => {
    const rates = median(list.map((r) => r.rate))
    const sample = { opsPerSec: rates.median, spread: (rates.max - rates.min) / rates.median, reps }
    const server = list[0]!.server === undefined ? undefined : median(list.map((r) => r.server!)).median
    return { sample, node: median(list.map((r) => r.node)).median, server }
  })
}

function median(list: number[]): { median: number; min: number; max: number } {
  const sorted = [...list].sort((a, b) => a - b)
  return { median: sorted[Math.floor(sorted.length / 2)]!, min: sorted[0]!, max: sorted[sorted.length - 1]! }
}

/** The CPU a Redis server has used so far, in µs (INFO cpu: user + system). */
async function redisCpu(client: ReturnType<typeof createClient>): Promise<number> {
  const info = await client.info('cpu')
  const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? Number.NaN)
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6
}

/** Runs every workload on the targets, interleaved; `cubby` names keyv on @cubby/keyv. */
async function runFamily(
  family: string,
  factories: Array<[string, TargetFactory]>,
  shape: string,
  serverCpu?: () => Promise<number>,
): Promise<void> {
  const { keys, values } = dataSet(n, shape === 'large' ? LARGE : SMALL)
  const targets: Target[] = []
  try {
    for (const [name, factory] of factories) targets.push({ ...(await factory()), name })
    for (const workload of workloads) {
      if (!workload.writes) {
        for (const target of targets) {
          await target.clear()
          await target.setMany(keys.map((key, i) => [key, values[i]]))
        }
      }
      const results = await measureInterleaved(workload, targets, keys, values, serverCpu)
      targets.forEach((target, i) => {
        const { sample, node, server } = results[i]!
        cases.push({ family, shape, workload: workload.id, target: target.name, sample })
        costs.set(`${family}|${shape}|${workload.id}|${target.name}`, { node, server })
        process.stderr.write(
          `  ${family} · ${shape} · ${target.name} · ${workload.id}: ${Math.round(sample.opsPerSec)} ops/s\n`,
        )
      })
    }
    for (const target of targets) await target.clear()
  } finally {
    for (const target of targets) await target.close()
  }
}

const redis = families.includes('redis') ? await startRedis() : undefined
try {
  let file = 0
  for (const shape of shapes) {
    const tmp = () => join(scratch, `db-${file++}.sqlite`)
    if (families.includes('memory')) {
      await runFamily(
        'memory',
        [
          ['cubby', () => keyvCubbyTarget('memory:')],
          ['keyv', keyvMemoryTarget],
        ],
        shape.name,
      )
    }
    if (families.includes('sqlite')) {
      await runFamily(
        'sqlite',
        [
          ['cubby', () => keyvCubbyTarget(`sqlite:${tmp()}`)],
          ['keyv', () => keyvSqliteTarget(tmp())],
        ],
        shape.name,
      )
    }
    if (redis) {
      // A separate connection reads the server's CPU between runs (untimed), for the CPU table.
      const admin = createClient({ url: redis.url })
      await admin.connect()
      try {
        await runFamily(
          'redis',
          [
            ['cubby', () => keyvCubbyTarget(redis.url, { prefix: `kb${file++}` })],
            ['keyv', () => keyvRedisTarget(redis.url)],
          ],
          shape.name,
          () => redisCpu(admin),
        )
      } finally {
        await admin.quit()
      }
    }
  }
} finally {
  await redis?.stop()
  rmSync(scratch, { recursive: true, force: true })
}

const goals: Array<[string, string, number]> = [
  ['sqlite', 'seq-set', 5],
  ['sqlite', 'seq-get', 3],
  ['sqlite', 'par-set', 15],
  ['redis', 'seq-set', 1],
  ['redis', 'par-set', 1],
  ['redis', 'par-get', 1],
]
const checks: string[] = []
for (const shape of shapes) {
  for (const [family, workload, goal] of goals) {
    const cubby = rate(cases, family, shape.name, workload, 'cubby')
    const keyv = rate(cases, family, shape.name, workload, 'keyv')
    if (!cubby || !keyv) continue
    const ratio = cubby / keyv
    const cost = (target: string) => total(costs.get(`${family}|${shape.name}|${workload}|${target}`))
    const byCpu = cost('keyv') / cost('cubby')
    checks.push(
      `- ${ratio >= goal ? 'met' : 'MISSED'}: ${family} ${labels[workload]} (${shape.name}) ${ratio.toFixed(2)}x, goal >= ${goal}x (by CPU per operation: ${byCpu.toFixed(2)}x)`,
    )
  }
}
const cpu = cpus()[0]?.model ?? 'unknown'

/** CPU per operation, µs: this process plus (Redis) the server's. */
function total(cost: { node: number; server: number | undefined } | undefined): number {
  return cost ? cost.node + (cost.server ?? 0) : Number.NaN
}

/**
 * CPU per operation of each case, the figure load barely moves (wall-clock ops/s on a busy machine swing by
 * half): µs of this process (keyv, the adapter, the client; @keyv/sqlite's worker threads included) plus, for
 * Redis, of the server.
 */
function cpuTable(family: string, shape: string): string {
  const fmt = (cost: { node: number; server: number | undefined } | undefined) =>
    !cost
      ? '—'
      : cost.server === undefined
        ? cost.node.toFixed(1)
        : `${total(cost).toFixed(1)} (${cost.node.toFixed(1)} + ${cost.server.toFixed(1)})`
  const head =
    family === 'redis'
      ? '| CPU µs per operation (process + server) | cubby | keyv | keyv / cubby |'
      : '| CPU µs per operation | cubby | keyv | keyv / cubby |'
  const lines = [head, '|---|---:|---:|---:|']
  for (const workload of workloads) {
    const cubby = costs.get(`${family}|${shape}|${workload.id}|cubby`)
    const keyv = costs.get(`${family}|${shape}|${workload.id}|keyv`)
    if (!cubby || !keyv) continue
    lines.push(`| ${workload.label} | ${fmt(cubby)} | ${fmt(keyv)} | ${(total(keyv) / total(cubby)).toFixed(2)}x |`)
  }
  return lines.join('\n')
}
const load = (at: number[]) => at.map((x) => x.toFixed(1)).join(' ')
const sections = [
  '# keyv on @cubby/keyv vs keyv on its own adapters',
  '',
  `${new Date().toISOString().slice(0, 10)} · ${cpu} · ${cpus().length} cores · Node ${process.version} · ${n} keys · median of ${reps} interleaved runs after a warm-up · load average ${load(loadBefore)} before, ${load(loadavg())} after. \`cubby\` = keyv over @cubby/keyv, \`keyv\` = keyv over @keyv/sqlite, @keyv/redis or its Map; both with keyv's default JSON serializer and namespace \`bench\`.`,
  '',
]
for (const shape of shapes) {
  for (const family of families) {
    if (!cases.some((c) => c.family === family && c.shape === shape.name)) continue
    sections.push(`## ${family} · ${shape.name} values`, '', casesTable(cases, family, shape.name, labels), '')
    sections.push(cpuTable(family, shape.name), '')
  }
}
sections.push('## Targets (issue 13)', '', ...checks, '')
const report = sections.join('\n')
mkdirSync(args.out, { recursive: true })
writeFileSync(join(args.out, 'keyv.md'), report)
process.stdout.write(`${report}\n`)
