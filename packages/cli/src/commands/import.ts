import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { Readable } from 'node:stream'
import type { Command } from 'commander'
import type { CommandContext } from '../context.js'
import { write } from '../io.js'
import { progressBar } from '../progress.js'
import { type ScopeFlags, scopeFromFlags } from '../scope-arg.js'
import { importStore } from '../transfer/import.js'
import { parsePositiveInt } from '../value-format.js'
import { hasScopeFlags, scopeOptions, showPath } from './shared.js'

interface ImportFlags extends ScopeFlags {
  checkValues: boolean
  batchSize: string
  progress: boolean
  json?: boolean
  dryRun?: boolean
}

/** `cubby import FILE`: writes an export into a store, streamed, in batches. */
export function registerImport(program: Command, ctx: CommandContext): void {
  scopeOptions(
    program.command('import').description('read a JSON Lines export into the store'),
    'where to put the data (default: the scope it was exported from)',
  )
    .argument('<file>', 'the export file, or "-" for standard input')
    .option('--no-check-values', 'do not decode each value first (needed when values use custom types)')
    .option('--batch-size <n>', 'entries per write', '500')
    .option('--no-progress', 'no progress bar (it is only shown on a terminal)')
    .option('--dry-run', 'read and check the whole file (format, keys, sizes, values) but write nothing')
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      `
Existing keys are overwritten; other keys are kept. Entries whose TTL has passed are skipped and counted as
expired. A file without its end line (truncated) or with a wrong count exits with 4 after importing what it holds;
a malformed line exits with 1, names the line and says how many entries before it were imported (all of them).
Run with --dry-run first to check a file without writing anything. Versions are not kept: the store assigns new
ones. Values over the store's limits are refused: pass the source's limits with --option 'limits={…}'.

Examples:
  cubby import backup.jsonl --url redis://127.0.0.1:6379/0
  cubby export --plugin todo | cubby import - --url sqlite:copy.db --plugin todo-copy`,
    )
    .action(async (file: string, flags: ImportFlags, command: Command) => {
      const root = hasScopeFlags(flags) ? scopeFromFlags(flags) : undefined
      const batchSize = parsePositiveInt(flags.batchSize, '--batch-size')
      // The input is checked before the store is opened, so a missing file does not leave an empty store behind.
      const size = file === '-' ? 0 : (await stat(file)).size
      const connection = await ctx.connect(command, undefined, { create: !flags.dryRun })
      const input: Readable = file === '-' ? ctx.stdin : createReadStream(file)
      const bar = progressBar(ctx.stderr, 'import', flags.progress && size > 0, size, 'bytes')
      try {
        const stats = await importStore(connection.cubby, input, {
          root,
          batchSize,
          checkValues: flags.checkValues,
          name: file === '-' ? 'standard input' : file,
          dryRun: flags.dryRun === true,
          onBytes: (n) => bar.increment(n),
          signal: ctx.signal,
        })
        bar.stop()
        const summary = flags.json
          ? JSON.stringify({
              imported: stats.imported,
              expired: stats.expired,
              root: stats.root,
              ...(flags.dryRun ? { dryRun: true } : {}),
            })
          : `${flags.dryRun ? 'checked: would import' : 'imported'} ${stats.imported} entries into ` +
            showPath(stats.root) +
            (stats.expired ? `, skipped ${stats.expired} expired` : '') +
            (flags.dryRun ? ' (dry run: nothing was written)' : '')
        await write(ctx.stdout, `${summary}\n`)
      } finally {
        bar.stop()
        if (file !== '-') input.destroy()
      }
    })
}
