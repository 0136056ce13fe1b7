import type { Command } from 'commander'
import { redactUrl } from '../connection.js'
import type { CommandContext } from '../context.js'
import { write } from '../io.js'
import { openOutput } from '../output-file.js'
import { progressBar } from '../progress.js'
import { type ScopeFlags, scopeFromFlags } from '../scope-arg.js'
import { viewAt } from '../scope-view.js'
import { exportStore } from '../transfer/export.js'
import { scopeOptions, showPath } from './shared.js'

interface ExportFlags extends ScopeFlags {
  out?: string
  progress: boolean
}

/** `cubby export`: the store (or a subtree) as JSON Lines, streamed. */
export function registerExport(program: Command, ctx: CommandContext): void {
  scopeOptions(program.command('export').description('write a scope and its descendants as JSON Lines'), 'the scope')
    .option('-o, --out <file>', 'write to a file instead of standard output')
    .option('--no-progress', 'no progress bar (it is only shown on a terminal, with --out)')
    .addHelpText(
      'after',
      `
Format: a header line {"cubby":"export","version":2,"root":[…],…}, one line per entry
{"scope":[…],"key":"…","value":"<base64 of the stored bytes>","expiresAt":<epoch ms>}, then
{"cubby":"end","entries":N}. Values, bytes and TTLs are exact; memory stays bounded on any size.
With --out, the file is written as FILE.tmp-<pid> and renamed over FILE only once complete, so a failed or
interrupted export leaves an existing FILE as it was.

Examples:
  cubby export --url sqlite:./data/cubby.db --out backup.jsonl
  cubby export --plugin todo > todo.jsonl`,
    )
    .action(async (flags: ExportFlags, command: Command) => {
      const root = scopeFromFlags(flags)
      const connection = await ctx.connect(command)
      const file = flags.out === undefined ? undefined : await openOutput(flags.out)
      const bar = progressBar(ctx.stderr, 'export', flags.progress && file !== undefined)
      try {
        if (file) {
          const usage = await viewAt(connection.cubby, root)
            .usage()
            .catch(() => ({ keys: 0 }))
          bar.setTotal(usage.keys)
        }
        const stats = await exportStore(connection.cubby, file?.stream ?? ctx.stdout, {
          root,
          source: redactUrl(connection.url),
          onProgress: (n) => bar.increment(n),
          signal: ctx.signal,
        })
        await file?.commit()
        bar.stop()
        const where = flags.out === undefined ? '' : ` to ${flags.out}`
        await write(
          ctx.stderr,
          `exported ${stats.entries} entries in ${stats.scopes} scopes of ${showPath(root)}${where}\n`,
        )
      } finally {
        bar.stop()
        await file?.discard()
      }
    })
}
