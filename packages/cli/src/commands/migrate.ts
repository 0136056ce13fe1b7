import type { Command } from 'commander'
import { type Connection, redactUrl } from '../connection.js'
import type { CommandContext } from '../context.js'
import { CliError, EXIT, usageError } from '../exit-codes.js'
import { write } from '../io.js'
import { progressBar } from '../progress.js'
import { formatScope, type ScopeFlags, scopeFromFlags } from '../scope-arg.js'
import { viewAt } from '../scope-view.js'
import { storeIdentity } from '../store-url.js'
import { type MigrateReport, migrateStore } from '../transfer/migrate.js'
import { parsePositiveInt } from '../value-format.js'
import { scopeOptions, showPath } from './shared.js'

interface MigrateFlags extends ScopeFlags {
  from?: string
  to?: string
  overwrite?: boolean
  batchSize: string
  progress: boolean
  json?: boolean
  fromOption: string[]
  toOption: string[]
}

/** Collects a repeatable option's values. */
const collect = (value: string, values: string[] = []) => [...values, value]

/** `cubby migrate --from URL --to URL`: copies between backends with a progress bar, then verifies. */
export function registerMigrate(program: Command, ctx: CommandContext): void {
  scopeOptions(
    program.command('migrate').description('copy everything (or a scope) from one backend to another, then verify'),
    'copy only this scope and its descendants, to the same path',
  )
    .requiredOption('--from <url>', 'source store URL')
    .requiredOption('--to <url>', 'target store URL')
    .option('--from-option <name=value>', 'a backend option for the source only (repeatable)', collect, [])
    .option('--to-option <name=value>', 'a backend option for the target only (repeatable)', collect, [])
    .option('--overwrite', 'allow a target that already holds data (same keys are replaced, others kept)')
    .option('--batch-size <n>', 'entries per write', '500')
    .option('--no-progress', 'no progress bars (they are only shown on a terminal)')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      `
Copies scopes depth-first a page at a time (values as stored bytes, TTLs as absolute expiry; versions are new),
then reads both stores again and compares every entry. The source must exist (a missing sqlite: file is refused);
the target is created if needed. Exits 0 when all match, 4 on any difference (missing, different, or — unless
--overwrite — extra keys), 1 on errors. Entries that expire during the run are counted, not flagged. Stop writers to
the source while it runs: changes made meanwhile show up as differences. --option applies to both stores; give a
store its own options with --from-option / --to-option (e.g. a Redis prefix that SQLite does not take).

Examples:
  cubby migrate --from sqlite:./data/cubby.db --to redis://127.0.0.1:6379/0
  cubby migrate --from redis://old:6379 --to redis://new:6379 --plugin todo
  cubby migrate --from sqlite:./data/cubby.db --to redis://127.0.0.1:6379/0 --to-option prefix=app`,
    )
    .action(async (flags: MigrateFlags, command: Command) => {
      const root = scopeFromFlags(flags)
      const batchSize = parsePositiveInt(flags.batchSize, '--batch-size')
      if (storeIdentity(flags.from!) === storeIdentity(flags.to!)) {
        throw usageError(`--from ${flags.from} and --to ${flags.to} are the same store`)
      }
      const from = await ctx.connect(command, flags.from, { options: flags.fromOption })
      const to = await ctx.connect(command, flags.to, { create: true, options: flags.toOption })
      if (!flags.overwrite) await assertEmpty(to, root)
      const total = flags.progress ? await countKeys(from, root) : 0
      const copy = progressBar(ctx.stderr, 'copy', flags.progress, total)
      let check = progressBar(ctx.stderr, 'verify', false)
      let report: MigrateReport
      try {
        report = await migrateStore(from, to, {
          root,
          batchSize,
          signal: ctx.signal,
          onCopy: (n) => copy.increment(n),
          onCopied: () => {
            copy.stop()
            check = progressBar(ctx.stderr, 'verify', flags.progress, total)
          },
          onVerify: (n) => check.increment(n),
        })
      } finally {
        copy.stop()
        check.stop()
      }
      const { verify } = report
      const mismatches = verify.missing + verify.different + (flags.overwrite ? 0 : verify.extra)
      await write(
        ctx.stdout,
        `${flags.json ? JSON.stringify({ ...report, ok: mismatches === 0 }) : describe(report, from, to)}\n`,
      )
      if (mismatches > 0) {
        throw new CliError(
          EXIT.MISMATCH,
          'VERIFY_FAILED',
          `the target differs from the source in ${mismatches} entries (see the report above)`,
        )
      }
      if (/^memory:/i.test(flags.to!)) {
        await write(ctx.stderr, 'cubby: note: memory: is a store inside this process; this copy ends with it\n')
      }
    })
}

/** Refuses a target that holds data under `root`, so that verification compares like with like. */
async function assertEmpty(to: Connection, root: string[]): Promise<void> {
  const store = viewAt(to.cubby, root)
  const [page, children] = await Promise.all([store.list({ limit: 1, values: false }), store.scopes({ limit: 1 })])
  if (page.entries.length > 0 || children.names.length > 0) {
    throw new CliError(
      EXIT.ERROR,
      'TARGET_NOT_EMPTY',
      `${redactUrl(to.url)} already holds data in scope ${showPath(root)}; migrate into an empty store, ` +
        'or pass --overwrite to merge into it',
    )
  }
}

/** Keys under `root`, for the progress bars; 0 (an open-ended bar) when the backend does not track usage. */
async function countKeys(from: Connection, root: string[]): Promise<number> {
  try {
    return (await viewAt(from.cubby, root).usage()).keys
  } catch {
    return 0
  }
}

function describe(report: MigrateReport, from: Connection, to: Connection): string {
  const { verify } = report
  const lines = [
    `copied ${report.written} entries in ${report.scopes} scopes from ${redactUrl(from.url)} to ${redactUrl(to.url)}` +
      (report.expired ? ` (${report.expired} expired before they could be written, skipped)` : ''),
    `verified ${verify.matched} entries in ${verify.scopes} scopes: ` +
      (verify.missing + verify.different + verify.extra === 0
        ? 'all match'
        : `${verify.missing} missing, ${verify.different} different, ${verify.extra} extra in the target`) +
      (verify.expired ? ` (${verify.expired} expired meanwhile)` : ''),
  ]
  for (const example of verify.examples) {
    lines.push(`  ${example.kind.padEnd(9)} scope ${formatScope(example.scope)} key ${JSON.stringify(example.key)}`)
  }
  return lines.join('\n')
}
