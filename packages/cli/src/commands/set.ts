import { readFile } from 'node:fs/promises'
import type { Readable } from 'node:stream'
import type { SetOptions } from '@cubby/core'
import type { Command } from 'commander'
import type { CommandContext } from '../context.js'
import { usageError } from '../exit-codes.js'
import { write } from '../io.js'
import type { ScopeFlags } from '../scope-arg.js'
import { parseDuration, parseJsonArg } from '../value-format.js'
import { scopeOptions, storeFor } from './shared.js'

interface SetFlags extends ScopeFlags {
  file?: string
  string?: boolean
  ttl?: string
  ifVersion?: string
  ifAbsent?: boolean
}

/** `cubby set KEY VALUE`: stores a JSON value, a string, or a file's bytes; prints the new version. */
export function registerSet(program: Command, ctx: CommandContext): void {
  scopeOptions(program.command('set').description('store a value (JSON, a string, or bytes from a file)'))
    .argument('<key>', 'the key (put -- before a key that starts with "-")')
    .argument('[value]', 'the value as JSON, e.g. 42, \'"text"\', \'{"a":[1,2]}\'')
    .option('-f, --file <path>', 'store the bytes of a file ("-" for standard input) as a Buffer')
    .option('--string', 'store VALUE as a string as it is, without parsing JSON')
    .option('-t, --ttl <duration>', 'expire after this long: milliseconds, or 30s, 10m, 2h, 7d')
    .option('--if-version <version>', 'write only if the key still has this version (else CONFLICT, exit 1)')
    .option('--if-absent', 'write only if the key does not exist (else CONFLICT, exit 1)')
    .addHelpText(
      'after',
      `
Examples:
  cubby set -s acme/weather last-city '"Oslo"'
  cubby set -s acme/weather token --string abc123 --ttl 1h
  cubby set --plugin files data:photo.png --file ./photo.png`,
    )
    .action(async (key: string, text: string | undefined, flags: SetFlags, command: Command) => {
      if ((text === undefined) === (flags.file === undefined)) {
        throw usageError('give exactly one of VALUE or --file')
      }
      if (flags.string && text === undefined) throw usageError('--string needs VALUE')
      if (flags.ifAbsent && flags.ifVersion !== undefined)
        throw usageError('give --if-version or --if-absent, not both')
      const options: SetOptions = {}
      if (flags.ttl !== undefined) options.ttl = parseDuration(flags.ttl)
      if (flags.ifAbsent) options.ifVersion = null
      if (flags.ifVersion !== undefined) options.ifVersion = flags.ifVersion
      const value =
        flags.file !== undefined ? await readBytes(flags.file, ctx.stdin) : flags.string ? text! : parseJsonArg(text!)
      const connection = await ctx.connect(command, undefined, { create: true })
      const version = await storeFor(connection, flags).set(key, value, options)
      await write(ctx.stdout, `${version}\n`)
    })
}

async function readBytes(path: string, stdin: Readable): Promise<Buffer> {
  if (path !== '-') return readFile(path)
  const chunks: Buffer[] = []
  for await (const chunk of stdin as AsyncIterable<Buffer | string>) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
  }
  return Buffer.concat(chunks)
}
