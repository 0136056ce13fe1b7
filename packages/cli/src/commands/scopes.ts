import type { KVStore } from '@cubby/core'
import type { Command } from 'commander'
import type { CommandContext } from '../context.js'
import { write } from '../io.js'
import { formatScope, type ScopeFlags } from '../scope-arg.js'
import { isPluginScope } from '../scope-view.js'
import { scopeOptions, storeFor } from './shared.js'

interface ScopesFlags extends ScopeFlags {
  recursive?: boolean
  json?: boolean
}

/** `cubby scopes`: the child scopes that hold data, as `--scope` paths. */
export function registerScopes(program: Command, ctx: CommandContext): void {
  scopeOptions(program.command('scopes').description('list the child scopes that hold data'), 'the parent scope')
    .option('-r, --recursive', 'every descendant scope, depth-first')
    .option('--json', 'one JSON array of paths (arrays of segments)')
    .addHelpText(
      'after',
      `
Each scope is printed as its full path in --scope syntax, ready to paste back.
A plugin's users are not its child scopes (see \`cubby users\`); with -r they are listed too, after the plugin's
own sub-scopes, as W/P//USER: the empty segment is the user level, which no scope name can be.

Examples:
  cubby scopes                 # top-level scopes (workspaces)
  cubby scopes -r -s default   # everything in the default workspace, users included
  cubby scopes --plugin todo   # the plugin's own sub-scopes, never its users`,
    )
    .action(async (flags: ScopesFlags, command: Command) => {
      const connection = await ctx.connect(command)
      const parent = storeFor(connection, flags)
      let count = 0
      for await (const store of children(parent, flags.recursive === true)) {
        const line = flags.json
          ? `${count === 0 ? '[\n' : ',\n'}  ${JSON.stringify(store.path)}`
          : `${formatScope(store.path)}\n`
        await write(ctx.stdout, line)
        count++
      }
      if (flags.json) await write(ctx.stdout, count === 0 ? '[]\n' : '\n]\n')
    })
}

/**
 * Child scopes of `store` holding data, in UTF-8 byte order; depth-first through descendants when `recursive`. A
 * plugin's users are not its child scopes: only `recursive` walks them, after the plugin's own sub-scopes, so that
 * `scopes -r` covers every scope holding data (users print as `W/P//USER`).
 */
async function* children(store: KVStore, recursive: boolean): AsyncGenerator<KVStore> {
  let cursor: string | undefined
  do {
    const page = await store.scopes({ limit: 100, cursor })
    for (const name of page.names) {
      const child = store.scope(name)
      yield child
      if (recursive) yield* children(child, true)
    }
    cursor = page.cursor
  } while (cursor !== undefined)
  if (!recursive || !isPluginScope(store.path)) return
  for await (const user of users(store)) {
    yield user
    yield* children(user, true)
  }
}

/** The scopes of a plugin's users holding data, in UTF-8 byte order of their ids. */
export async function* users(plugin: KVStore): AsyncGenerator<KVStore> {
  let cursor: string | undefined
  do {
    const page = await plugin.users({ limit: 100, cursor })
    for (const id of page.ids) yield plugin.user(id)
    cursor = page.cursor
  } while (cursor !== undefined)
}
