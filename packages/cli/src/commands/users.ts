import type { Command } from 'commander'
import type { CommandContext } from '../context.js'
import { usageError } from '../exit-codes.js'
import { write } from '../io.js'
import { type ScopeFlags, scopeFromFlags } from '../scope-arg.js'
import { isPluginScope } from '../scope-view.js'
import { users } from './scopes.js'
import { scopeOptions, storeFor } from './shared.js'

interface UsersFlags extends ScopeFlags {
  json?: boolean
}

/** `cubby users --plugin P`: the ids of a plugin's users that hold data (`store.users()`). */
export function registerUsers(program: Command, ctx: CommandContext): void {
  scopeOptions(program.command('users').description("list the ids of a plugin's users that hold data"), 'the plugin')
    .option('--json', 'one JSON array of user ids')
    .addHelpText(
      'after',
      `
Needs a plugin's scope: --plugin P (and --workspace W), or --scope W/P. Ids are printed one per line, as they are
(use --json for ids holding newlines); \`--user ID\` reaches one user's data in every other command.

Examples:
  cubby users --plugin todo
  cubby users --workspace acme --plugin todo --json`,
    )
    .action(async (flags: UsersFlags, command: Command) => {
      if (!isPluginScope(scopeFromFlags(flags)) || flags.user !== undefined) {
        throw usageError("users needs a plugin's scope: --plugin P [--workspace W], or --scope W/P")
      }
      const connection = await ctx.connect(command)
      let count = 0
      for await (const user of users(storeFor(connection, flags))) {
        const id = user.path[3]!
        await write(ctx.stdout, flags.json ? `${count === 0 ? '[\n' : ',\n'}  ${JSON.stringify(id)}` : `${id}\n`)
        count++
      }
      if (flags.json) await write(ctx.stdout, count === 0 ? '[]\n' : '\n]\n')
    })
}
