import { resolve } from 'node:path'
import type { Command } from 'commander'
import { redactUrl } from '../connection.js'
import type { CommandContext } from '../context.js'
import { CliError, EXIT } from '../exit-codes.js'
import { write } from '../io.js'
import { importKeyv, type KeyvImportReport } from '../keyv/copy.js'
import { openKeyvSource } from '../keyv/source.js'
import { progressBar } from '../progress.js'
import { formatScope, type ScopeFlags, scopeFromFlags } from '../scope-arg.js'
import { parsePositiveInt } from '../value-format.js'
import { scopeOptions, showPath } from './shared.js'

interface ImportKeyvFlags extends ScopeFlags {
  namespace: string
  table: string
  modules?: string
  overwrite?: boolean
  batchSize: string
  progress: boolean
  json?: boolean
}

/** `cubby import-keyv URL`: copies a keyv store (@keyv/sqlite or @keyv/redis) into a scope, then verifies. */
export function registerImportKeyv(program: Command, ctx: CommandContext): void {
  scopeOptions(
    program.command('import-keyv').description('copy a store written by keyv (@keyv/sqlite, @keyv/redis) into a scope'),
    'where to put the keys (default: root)',
  )
    .argument('<keyv-url>', 'the keyv store: sqlite://PATH (as @keyv/sqlite takes it) or redis://HOST:PORT[/DB]')
    .option('--namespace <ns>', 'the keyv namespace to read ("" for a keyv without one)', 'keyv')
    .option('--table <name>', '@keyv/sqlite table name', 'keyv')
    .option('--modules <dir>', 'the project whose keyv and @keyv/* packages to use (default: current directory)')
    .option('--overwrite', 'allow a scope that already holds keys (same keys are replaced, others kept)')
    .option('--batch-size <n>', 'entries per atomic write', '500')
    .option('--no-progress', 'no progress bars (they are only shown on a terminal)')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      `
Reads the keyv store through keyv and its own adapter, loaded from your project (they are optional peer
dependencies of @cubby/cli: npm install keyv @keyv/sqlite, or keyv @keyv/redis), so their table and key layout and
serialization apply. Keys lose keyv's "namespace:" prefix; values are stored as keyv decodes them (Buffers stay
bytes); TTLs are kept (keyv's expires). Then every key is read back and compared (value, and expiry within a
second). Exits 0 when all match, 4 on any difference. Import each namespace into its own scope.

Examples:
  cubby import-keyv sqlite://./cache.sqlite --namespace cache --scope app/cache
  cubby import-keyv redis://127.0.0.1:6379 --namespace sessions --plugin auth --url redis://127.0.0.1:6379/1`,
    )
    .action(async (url: string, flags: ImportKeyvFlags, command: Command) => {
      const root = scopeFromFlags(flags)
      const batchSize = parsePositiveInt(flags.batchSize, '--batch-size')
      const source = await openKeyvSource(url, {
        namespace: flags.namespace,
        table: flags.table,
        modules: resolve(flags.modules ?? process.cwd()),
      })
      try {
        const connection = await ctx.connect(command, undefined, { create: true })
        const target = connection.cubby.scope(...root)
        if (!flags.overwrite) {
          const page = await target.list({ limit: 1, values: false })
          if (page.entries.length > 0) {
            throw new CliError(
              EXIT.ERROR,
              'TARGET_NOT_EMPTY',
              `scope ${showPath(root)} of ${redactUrl(connection.url)} already holds keys; import into an empty ` +
                'scope, or pass --overwrite to merge into it',
            )
          }
        }
        const copy = progressBar(ctx.stderr, 'copy', flags.progress)
        let check = progressBar(ctx.stderr, 'verify', false)
        let report: KeyvImportReport
        try {
          report = await importKeyv(source, target, {
            batchSize,
            signal: ctx.signal,
            onCopy: (n) => copy.increment(n),
            onCopied: () => {
              copy.stop()
              check = progressBar(ctx.stderr, 'verify', flags.progress, 0)
            },
            onVerify: (n) => check.increment(n),
          })
        } finally {
          copy.stop()
          check.stop()
        }
        const { verify } = report
        const mismatches = verify.missing + verify.different
        const text = flags.json
          ? JSON.stringify({ ...report, ok: mismatches === 0 })
          : [
              `imported ${report.written} keys of keyv namespace ${JSON.stringify(flags.namespace)} from ${redactUrl(url)} ` +
                `into scope ${formatScope(root) || '(root)'}` +
                (report.expired ? ` (${report.expired} expired, skipped)` : '') +
                (report.empty ? ` (${report.empty} holding undefined, skipped)` : ''),
              `verified ${verify.matched} keys: ` +
                (mismatches === 0 ? 'all match' : `${verify.missing} missing, ${verify.different} different`) +
                (verify.expired ? ` (${verify.expired} expired meanwhile)` : ''),
              ...verify.examples.map((e) => `  ${e}`),
            ].join('\n')
        await write(ctx.stdout, `${text}\n`)
        if (mismatches > 0) {
          throw new CliError(EXIT.MISMATCH, 'VERIFY_FAILED', `${mismatches} keys differ from the keyv store`)
        }
      } finally {
        await source.close()
      }
    })
}
