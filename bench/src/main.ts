/**
 * `npm run bench`: Cubby on memory, SQLite and Redis against the raw drivers doing the same work and against
 * keyv@5, in one run. Prints tables of ops/s and ratios, checks the targets, and writes bench/results/.
 * Options: see `USAGE` (`--help`).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { startPostgres } from '@cubby/backend-postgres/testing'
import { startRedis } from '@cubby/backend-redis/testing'
import { evaluate } from './checks.js'
import { codecBench } from './codec-bench.js'
import { incrContention } from './incr-contention.js'
import { measureAlternating, type Sample } from './measure.js'
import { type CaseResult, casesTable, checksList } from './report.js'
import { cubbyTarget } from './targets/cubby.js'
import { keyvMemoryTarget, keyvRedisTarget, keyvSqliteTarget } from './targets/keyv.js'
import { keyvPostgresTarget } from './targets/keyv-postgres.js'
import { mapTarget } from './targets/raw-memory.js'
import { rawPostgresTarget } from './targets/raw-postgres.js'
import { rawRedisTarget } from './targets/raw-redis.js'
import { rawSqliteTarget } from './targets/raw-sqlite.js'
import { remoteTarget, startRemoteServer } from './targets/remote.js'
import type { Target, TargetFactory } from './targets/target.js'
import { LARGE, SMALL, type ValueShape } from './values.js'
import { dataSet, WORKLOADS } from './workloads.js'

const FAMILIES = ['memory', 'sqlite', 'redis', 'postgres', 'remote']
const USAGE = `usage: node bench/dist/main.js [options]
  --n 10000                      keys per workload
  --reps 5                       timed reps per target and workload, interleaved across targets
  --families ${FAMILIES.join(',')}
  --shapes small,large           100 B and 10 KiB JSON values
  --quick                        500 keys, 2 reps: a smoke run, not a measurement
  --out bench/results/           where latest.md and latest.json go
  --help`

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '10000' },
    reps: { type: 'string', default: '5' },
    families: { type: 'string', default: FAMILIES.join(',') },
    shapes: { type: 'string', default: 'small,large' },
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: fileURLToPath(new URL('../results/', import.meta.url)) },
    help: { type: 'boolean', default: false },
  },
})
if (args.help) {
  process.stdout.write(`${USAGE}\n`)
  process.exit(0)
}
/** Exits with the usage text when an option's value is not one this bench knows. */
function usageError(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`)
  process.exit(2)
}
const positive = (name: string, text: string) => {
  const value = Number(text)
  if (!Number.isInteger(value) || value < 1) usageError(`--${name} must be a positive integer, not "${text}"`)
  return value
}
const n = args.quick ? 500 : positive('n', args.n)
const reps = args.quick ? 2 : positive('reps', args.reps)
const families = args.families.split(',')
for (const family of families) if (!FAMILIES.includes(family)) usageError(`unknown family "${family}"`)
const shapes = args.shapes.split(',').map((s) => {
  if (s !== 'small' && s !== 'large') usageError(`unknown shape "${s}"`)
  return s === 'large' ? LARGE : SMALL
})
const labels = Object.fromEntries(WORKLOADS.map((w) => [w.id, w.label]))
const scratch = mkdtempSync(join(tmpdir(), 'cubby-bench-'))
const cases: CaseResult[] = []

/**
 * Runs every workload on every target of a family. All targets are open at once and their reps alternate (target A,
 * B, C, A, B, C, …), so load that comes and goes on a shared machine weighs on each alike and the ratios within a
 * family compare like with like.
 */
async function runFamily(family: string, factories: TargetFactory[], shape: ValueShape): Promise<void> {
  const { keys, values } = dataSet(n, shape)
  const targets: Target[] = []
  try {
    for (const factory of factories) targets.push(await factory())
    for (const workload of WORKLOADS.filter((w) => w.writes)) {
      const samples = await measureAlternating(
        n,
        reps,
        targets.map((target) => ({
          run: () => workload.run(target, keys, values),
          before: () => target.clear(),
        })),
      )
      record(family, shape, workload.id, targets, samples)
    }
    for (const target of targets) {
      await target.clear()
      await target.setMany(keys.map((key, i) => [key, values[i]]))
      await target.prepareList?.(keys)
    }
    for (const workload of WORKLOADS.filter((w) => !w.writes)) {
      const samples = await measureAlternating(
        n,
        reps,
        targets.map((target) => ({ run: () => workload.run(target, keys, values) })),
      )
      record(family, shape, workload.id, targets, samples)
    }
    for (const target of targets) await target.clear()
  } finally {
    for (const target of targets) await target.close()
  }
}

function record(family: string, shape: ValueShape, workload: string, targets: Target[], samples: Sample[]): void {
  targets.forEach((target, i) => {
    const sample = samples[i]!
    cases.push({ family, shape: shape.name, workload, target: target.name, sample })
    progress(family, shape, target.name, workload, sample.opsPerSec)
  })
}

function progress(family: string, shape: ValueShape, target: string, workload: string, opsPerSec: number): void {
  process.stderr.write(`  ${family} · ${shape.name} · ${target} · ${workload}: ${Math.round(opsPerSec)} ops/s\n`)
}

const redis = families.includes('redis') || families.includes('remote') ? await startRedis() : undefined
// Real durability (fsync on) for PostgreSQL, as a production server runs.
const postgres = families.includes('postgres') ? await startPostgres({ fast: false }) : undefined
const incr: Record<string, { contended: number; uncontended: number; lost: number }> = {}
try {
  for (const shape of shapes) {
    let file = 0
    const tmp = () => join(scratch, `db-${file++}.sqlite`)
    if (families.includes('memory')) {
      await runFamily('memory', [() => cubbyTarget('memory:'), mapTarget, keyvMemoryTarget], shape)
    }
    if (families.includes('sqlite')) {
      await runFamily(
        'sqlite',
        [() => cubbyTarget(`sqlite:${tmp()}`), () => rawSqliteTarget(tmp()), () => keyvSqliteTarget(tmp())],
        shape,
      )
    }
    if (redis && families.includes('remote')) {
      // Remote get/set over loopback against the raw Redis client over loopback.
      const server = await startRemoteServer()
      try {
        const prefix = `bench${file++}`
        await runFamily('remote', [() => remoteTarget(server), () => rawRedisTarget(redis.url, `${prefix}raw`)], shape)
      } finally {
        await server.stop()
      }
    }
    if (redis && families.includes('redis')) {
      const prefix = `bench${file++}`
      await runFamily(
        'redis',
        [
          () => cubbyTarget(redis.url, { prefix }),
          () => rawRedisTarget(redis.url, `${prefix}raw`),
          () => keyvRedisTarget(redis.url),
        ],
        shape,
      )
    }
    if (postgres) {
      const schema = `bench${file++}`
      await runFamily(
        'postgres',
        [
          () => cubbyTarget(postgres.url, { schema }),
          () => rawPostgresTarget(postgres.url),
          () => keyvPostgresTarget(postgres.url),
        ],
        shape,
      )
    }
  }
  const perProcess = Math.max(50, Math.floor(n / 8))
  for (const family of families.filter((f) => f === 'sqlite' || f === 'redis' || f === 'postgres')) {
    const url =
      family === 'redis' ? redis!.url : family === 'postgres' ? postgres!.url : `sqlite:${join(scratch, 'incr.sqlite')}`
    const uncontended = await incrContention(url, 4, perProcess, 8, false)
    const contended = await incrContention(url, 4, perProcess, 8, true)
    incr[family] = {
      contended: contended.opsPerSec,
      uncontended: uncontended.opsPerSec,
      lost: contended.lost + uncontended.lost,
    }
    process.stderr.write(
      `  ${family} · incr 4 processes: contended ${Math.round(contended.opsPerSec)}/s, own keys ${Math.round(uncontended.opsPerSec)}/s\n`,
    )
  }
} finally {
  await redis?.stop()
  await postgres?.stop()
  rmSync(scratch, { recursive: true, force: true })
}

// One shape after the other: the loops are synchronous, so shapes run together would time each other's work.
const codec: Record<string, Record<string, Sample>> = {}
for (const shape of shapes) codec[shape.name] = await codecBench(shape, n, reps)
const checks = evaluate(cases, codec, incr)
const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  node: process.version,
  platform: process.platform,
}
const sections: string[] = [
  `# Cubby benchmark results`,
  '',
  `${new Date().toISOString().slice(0, 10)} · ${machine.cpu} · ${machine.cores} cores · Node ${machine.node} · ${n} keys · median of ${reps} runs after a warm-up (± is half the spread).`,
  '',
]
for (const family of families) {
  for (const shape of shapes) {
    sections.push(`## ${family} · ${shape.name}`, '', casesTable(cases, family, shape.name, labels), '')
  }
}
sections.push('## Codec alone (encode + decode)', '')
for (const [shape, samples] of Object.entries(codec)) {
  sections.push(
    `- ${shape}: ${Object.entries(samples)
      .map(([name, s]) => `${name} ${Math.round(s.opsPerSec).toLocaleString('en-US')}/s`)
      .join(' · ')}`,
  )
}
sections.push('', '## Contended incr (4 processes x 8 in flight)', '')
for (const [family, r] of Object.entries(incr)) {
  sections.push(
    `- ${family}: one shared key ${Math.round(r.contended)}/s, a key per process ${Math.round(r.uncontended)}/s, lost updates: ${r.lost}`,
  )
}
sections.push('', '## Targets', '', checksList(checks), '')
const markdown = sections.join('\n')
console.log(markdown)
mkdirSync(args.out, { recursive: true })
writeFileSync(join(args.out, 'latest.md'), markdown)
writeFileSync(
  join(args.out, 'latest.json'),
  `${JSON.stringify({ machine, n, reps, cases, codec, incr, checks }, null, 2)}\n`,
)
