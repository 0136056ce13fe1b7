import type { Sample } from './measure.js'

/** One measured case. */
export interface CaseResult {
  family: string
  shape: string
  workload: string
  target: string
  sample: Sample
}

/** A target of the issue, checked against this run. */
export interface Check {
  what: string
  ratio: number
  goal: number
  met: boolean
}

const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1))
const pct = (s: Sample) => `±${Math.round((s.spread * 100) / 2)}%`

/** Median ops/s of a case, or undefined when it was not run. */
export function rate(
  cases: CaseResult[],
  family: string,
  shape: string,
  workload: string,
  target: string,
): number | undefined {
  return cases.find((c) => c.family === family && c.shape === shape && c.workload === workload && c.target === target)
    ?.sample.opsPerSec
}

/** A markdown table per family and shape: ops/s per target and Cubby's ratios to the others. */
export function casesTable(cases: CaseResult[], family: string, shape: string, labels: Record<string, string>): string {
  const rows = cases.filter((c) => c.family === family && c.shape === shape)
  const targets = [...new Set(rows.map((c) => c.target))]
  const others = targets.filter((t) => t !== 'cubby')
  const head = ['work', ...targets.map((t) => `${t} ops/s`), ...others.map((t) => `cubby / ${t}`)]
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`]
  for (const workload of Object.keys(labels)) {
    const cells = targets.map((t) => {
      const c = rows.find((r) => r.workload === workload && r.target === t)
      return c ? `${fmt(c.sample.opsPerSec)} ${pct(c.sample)}` : '—'
    })
    if (cells.every((c) => c === '—')) continue
    const cubby = rate(rows, family, shape, workload, 'cubby')
    const ratios = others.map((t) => {
      const other = rate(rows, family, shape, workload, t)
      return cubby && other ? `${(cubby / other).toFixed(2)}x` : '—'
    })
    lines.push(`| ${labels[workload]} | ${[...cells, ...ratios].join(' | ')} |`)
  }
  return lines.join('\n')
}

/** The checks as a markdown list. */
export function checksList(checks: Check[]): string {
  return checks
    .map((c) => `- ${c.met ? 'met' : '**missed**'}: ${c.what}: ${c.ratio.toFixed(2)}x (goal ${c.goal}x)`)
    .join('\n')
}
