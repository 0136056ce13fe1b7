import type { Command } from 'commander'
import type { CommandContext } from '../context.js'
import { write } from '../io.js'
import type { ScopeFlags } from '../scope-arg.js'
import { scopeOptions, storeFor } from './shared.js'

interface UsageFlags extends ScopeFlags {
  json?: boolean
}

/** `cubby usage`: live keys and bytes of a scope and all its descendants. */
export function registerUsage(program: Command, ctx: CommandContext): void {
  scopeOptions(program.command('usage').description('live keys and bytes of a scope and all its descendants'))
    .option('--json', 'print {"keys":N,"bytes":N}')
    .addHelpText(
      'after',
      `
Bytes are UTF-8 key bytes plus encoded value bytes: what a quota caps.

Examples:
  cubby usage --plugin todo
  cubby usage --plugin todo --user alice --json`,
    )
    .action(async (flags: UsageFlags, command: Command) => {
      const connection = await ctx.connect(command)
      const usage = await storeFor(connection, flags).usage()
      const text = flags.json
        ? JSON.stringify({ keys: usage.keys, bytes: usage.bytes })
        : `keys   ${usage.keys}\nbytes  ${usage.bytes} (${humanBytes(usage.bytes)})`
      await write(ctx.stdout, `${text}\n`)
    })
}

/** 1536 -> "1.5 KiB". */
export function humanBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`
}
