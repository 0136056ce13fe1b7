import { writeFile } from 'node:fs/promises'
import type { Command } from 'commander'
import type { CommandContext } from '../context.js'
import { CliError, EXIT } from '../exit-codes.js'
import { write } from '../io.js'
import type { ScopeFlags } from '../scope-arg.js'
import { displayValue, toTaggedJson } from '../value-format.js'
import { scopeOptions, showPath, storeFor } from './shared.js'

interface GetFlags extends ScopeFlags {
  json?: boolean
  raw?: boolean
  out?: string
}

/** `cubby get KEY`: prints a value; bytes are written raw. Exit 3 when the key is absent. */
export function registerGet(program: Command, ctx: CommandContext): void {
  scopeOptions(program.command('get').description('print the value of a key'))
    .argument('<key>', 'the key (put -- before a key that starts with "-")')
    .option('--json', 'print the entry as JSON: key, value (tagged JSON), version, expiresAt')
    .option('--raw', 'print a string value as it is, without JSON quotes')
    .option('-o, --out <file>', 'write the value to a file (bytes as they are, other values as text)')
    .addHelpText(
      'after',
      `
Values that are plain JSON print as JSON; Date, Map, BigInt and the like print as Node shows them; bytes
(Uint8Array/Buffer) are written raw. Exits with 3 when the key does not exist.

Examples:
  cubby get --scope acme/weather last-city
  cubby get --plugin files --out photo.png data:photo.png
  cubby get --json -s acme counter`,
    )
    .action(async (key: string, flags: GetFlags, command: Command) => {
      const connection = await ctx.connect(command)
      const store = storeFor(connection, flags)
      const entry = await store.getEntry(key)
      if (entry === undefined) {
        throw new CliError(
          EXIT.NOT_FOUND,
          'NOT_FOUND',
          `no key ${JSON.stringify(key)} in scope ${showPath(store.path)}`,
        )
      }
      const { value } = entry
      let output: string | Uint8Array
      if (flags.json) {
        const json = { key, value: toTaggedJson(value), version: entry.version, expiresAt: entry.expiresAt }
        output = `${JSON.stringify(json)}\n`
      } else if (value instanceof Uint8Array) {
        output = value
      } else if (flags.raw && typeof value === 'string') {
        output = value
      } else {
        output = `${displayValue(value, true)}\n`
      }
      if (flags.out !== undefined) await writeFile(flags.out, output)
      else await write(ctx.stdout, output)
    })
}
