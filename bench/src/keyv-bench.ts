/**
 * `npm run bench:keyv`: keyv over `@cubby/keyv` against keyv over its own adapters (@keyv/sqlite, @keyv/redis, and
 * keyv's in-memory Map), the same workloads as `npm run bench`, in one run. In the tables `cubby` is keyv on
 * `@cubby/keyv` and `keyv` is keyv on the keyv adapter; the ratios are what a keyv user gains by switching stores.
 * Writes bench/results/keyv.md. Options: --n 10000, --reps 5, --families memory,sqlite,redis, --shapes small,large.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { startRedis } from '@cubby/backend-redis/testing'
import { measure } from './measure.js'
import { type CaseResult, casesTable, rate } from './report.js'
import { keyvCubbyTarget, keyvMemoryTarget, keyvRedisTarget, keyvSqliteTarget } from './targets/keyv.js'
import type { TargetFactory } from './targets/target.js'
import { LARGE, SMALL } from './values.js'
import { dataSet, WORKLOADS } from './workloads.js'

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '10000' },
    reps: { type: 'string', default: '5' },
    families: { type: 'string', default: 'memory,sqlite,redis' },
    shapes: { type: 'string', default: 'small,large' },
    out: { type: 'string', default: fileURLToPath(new URL('../results/', import.meta.url)) },
  },
})
const n = Number(args.n)
const reps = Number(args.reps)
const families = args.families.split(',')
const shapes = args.shapes.split(',').map((s) => (s === 'large' ? LARGE : SMALL))
const labels = Object.fromEntries(WORKLOADS.map((w) => [w.id, w.label]))
const scratch = mkdtempSync(join(tmpdir(), 'cubby-bench-keyv-'))
const cases: CaseResult[] = []

/** Runs every workload on each target; `cubby` names keyv on @cubby/keyv. */
async function runFamily(family: string, factories: Array<[string, TargetFactory]>, shape: string): Promise<void> {
  const { keys, values } = dataSet(n, shape === 'large' ? LARGE : SMALL)
  for (const [name, factory] of factories) {
    const target = { ...(await factory()), name }
    try {
      for (const workload of WORKLOADS) {
        if (!workload.writes) {
          await target.clear()
          await target.setMany(keys.map((key, i) => [key, values[i]]))
        }
        const before = workload.writes ? () => target.clear() : undefined
        const sample = await measure(n, reps, () => workload.run(target, keys, values), before)
        cases.push({ family, shape, workload: workload.id, target: name, sample })
        process.stderr.write(
          `  ${family} · ${shape} · ${name} · ${workload.id}: ${Math.round(sample.opsPerSec)} ops/s\n`,
        )
      }
      await target.clear()
    } finally {
      await target.close()
    }
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
      await runFamily(
        'redis',
        [
          ['cubby', () => keyvCubbyTarget(redis.url, { prefix: `kb${file++}` })],
          ['keyv', () => keyvRedisTarget(redis.url)],
        ],
        shape.name,
      )
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
    checks.push(
      `- ${ratio >= goal ? 'met' : 'MISSED'}: ${family} ${labels[workload]} (${shape.name}) ${ratio.toFixed(2)}x, goal >= ${goal}x`,
    )
  }
}
const cpu = cpus()[0]?.model ?? 'unknown'
const sections = [
  '# keyv on @cubby/keyv vs keyv on its own adapters',
  '',
  `${new Date().toISOString().slice(0, 10)} · ${cpu} · ${cpus().length} cores · Node ${process.version} · ${n} keys · median of ${reps} runs after a warm-up. \`cubby\` = keyv over @cubby/keyv, \`keyv\` = keyv over @keyv/sqlite, @keyv/redis or its Map; both with keyv's default JSON serializer and namespace \`bench\`.`,
  '',
]
for (const shape of shapes) {
  for (const family of families) {
    if (!cases.some((c) => c.family === family && c.shape === shape.name)) continue
    sections.push(`## ${family} · ${shape.name} values`, '', casesTable(cases, family, shape.name, labels), '')
  }
}
sections.push('## Targets (issue 13)', '', ...checks, '')
const report = sections.join('\n')
mkdirSync(args.out, { recursive: true })
writeFileSync(join(args.out, 'keyv.md'), report)
process.stdout.write(`${report}\n`)
