import { createRequire } from 'node:module'
import { Command, CommanderError } from 'commander'
import { registerDelete } from './commands/delete.js'
import { registerExport } from './commands/export.js'
import { registerGet } from './commands/get.js'
import { registerImport } from './commands/import.js'
import { registerImportKeyv } from './commands/import-keyv.js'
import { registerList } from './commands/list.js'
import { registerMigrate } from './commands/migrate.js'
import { registerScopes } from './commands/scopes.js'
import { registerServe } from './commands/serve.js'
import { registerSet } from './commands/set.js'
import { registerUsage } from './commands/usage.js'
import { registerUsers } from './commands/users.js'
import { registerWatch } from './commands/watch.js'
import { CommandContext } from './context.js'
import { describeError, EXIT } from './exit-codes.js'
import { interruptCode, isInterrupt } from './interrupt.js'
import type { CliIO } from './io.js'

const { version } = createRequire(import.meta.url)('../package.json') as { version: string }

/** Builds the commander program; one per run, since commander keeps parse state on it. */
export function buildProgram(ctx: CommandContext): Command {
  const program = new Command('cubby')
    .description('Inspect, export, import and migrate Cubby stores.')
    .version(version)
    .option(
      '--url <url>',
      'store URL: memory:, sqlite:PATH, redis://HOST:PORT/DB (default: $CUBBY_URL, else sqlite:./data/cubby.db)',
    )
    .option('--timeout <ms>', 'fail a backend call that takes longer than this (default: 10000)')
    .option(
      '--option <name=value>',
      'a backend option, e.g. prefix=myapp for Redis (repeatable; applies to every store opened)',
      (pair: string, pairs: string[] = []) => [...pairs, pair],
    )
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => ctx.stdout.write(text),
      writeErr: (text) => ctx.stderr.write(text),
      outputError: (text, writeErr) => writeErr(`cubby: ${text.replace(/^error: /, 'USAGE: ')}`),
    })
    .addHelpText(
      'after',
      `
Scopes: --scope a/b/c names the path ["a","b","c"]; inside a segment write "/" as %2F and "%" as %25.
--plugin P [--workspace W] names the plugin's scope [W, P] (W defaults to "default"); add --user U for the user's
scope [W, P, "", U], written W/P//U with --scope: the empty segment is the user level, which no scope name can be.

Exit codes: 0 ok, 1 error, 2 bad usage, 3 key not found (get, delete), 4 verification failed (migrate, import),
130 interrupted (Ctrl-C), 141 output closed by its reader, 143 stopped by SIGTERM.`,
    )
  for (const register of [
    registerGet,
    registerSet,
    registerDelete,
    registerList,
    registerScopes,
    registerUsers,
    registerUsage,
    registerWatch,
    registerExport,
    registerImport,
    registerImportKeyv,
    registerMigrate,
    registerServe,
  ]) {
    register(program, ctx)
  }
  // Subcommands inherit the output settings and exit override, so their errors come back to `run` as well.
  for (const command of program.commands) command.exitOverride().showHelpAfterError('(run with --help for usage)')
  return program
}

/**
 * Runs the `cubby` command line with `argv` (the arguments after the program name) and resolves to the exit code.
 * Never exits the process and never rejects: errors are printed on `io.stderr` as `cubby: CODE: message`.
 */
export async function run(argv: readonly string[], io: CliIO): Promise<number> {
  const ctx = new CommandContext(io)
  const program = buildProgram(ctx)
  try {
    await program.parseAsync([...argv], { from: 'user' })
    return ctx.exitCode
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.OK : EXIT.USAGE
    if (ctx.signal && isInterrupt(error, ctx.signal)) {
      // Interrupted export/import/migrate: what was written stays, but the job is not complete.
      ctx.stderr.write('cubby: INTERRUPTED: stopped before finishing\n')
      return interruptCode(ctx.signal)
    }
    // The reader of our output went away (`cubby export | head`): the output is incomplete; nothing to explain.
    if ((error as { code?: unknown })?.code === 'EPIPE') return EXIT.BROKEN_PIPE
    const { exitCode, line } = describeError(error)
    ctx.stderr.write(`cubby: ${line}\n`)
    return exitCode
  } finally {
    await ctx.closeAll().catch((error: unknown) => {
      ctx.stderr.write(`cubby: while closing: ${describeError(error).line}\n`)
    })
  }
}
