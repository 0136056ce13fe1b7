import type { KVStore } from '@cubby/core'
import type { Command } from 'commander'
import type { CommandContext } from '../context.js'
import { write } from '../io.js'
import { formatScope, type ScopeFlags } from '../scope-arg.js'
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

Examples:
  cubby scopes                 # top-level scopes (workspaces)
  cubby scopes -r -s default   # everything in the default workspace`,
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

/** Child scopes of `store` holding data, in UTF-8 byte order; depth-first through descendants when `recursive`. */
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
}
