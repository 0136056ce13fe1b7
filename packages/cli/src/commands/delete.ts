import type { Command } from 'commander'
import type { CommandContext } from '../context.js'
import { EXIT } from '../exit-codes.js'
import { write } from '../io.js'
import type { ScopeFlags } from '../scope-arg.js'
import { scopeOptions, showPath, storeFor } from './shared.js'

/** `cubby delete KEY...`: removes keys; prints how many. Exit 3 when none existed. */
export function registerDelete(program: Command, ctx: CommandContext): void {
  scopeOptions(program.command('delete').alias('del').description('delete keys'))
    .argument('<keys...>', 'the keys (put -- before a key that starts with "-")')
    .addHelpText(
      'after',
      `
Prints the number of keys removed. Exits with 3 when none of them existed.

Examples:
  cubby delete -s acme/weather token
  cubby delete --plugin todo --user alice todo:1 todo:2`,
    )
    .action(async (keys: string[], flags: ScopeFlags, command: Command) => {
      const connection = await ctx.connect(command)
      const store = storeFor(connection, flags)
      const removed = keys.length === 1 ? Number(await store.delete(keys[0]!)) : await store.deleteMany(keys)
      await write(ctx.stdout, `${removed}\n`)
      if (removed === 0) {
        await write(ctx.stderr, `cubby: NOT_FOUND: no such key in scope ${showPath(store.path)}\n`)
        ctx.exitCode = EXIT.NOT_FOUND
      }
    })
}
