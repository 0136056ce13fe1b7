import { readFileSync } from 'node:fs'
import { InvalidConfigError } from '@cubby/core'
import type { Command } from 'commander'
import type { CommandContext } from '../context.js'
import { write } from '../io.js'
import { parsePositiveInt } from '../value-format.js'

interface ServeFlags {
  port?: string
  host?: string
  keys?: string
}

/** The keyring: `--keys FILE` (JSON `{ keys: [{ kid, secret }], retired? }`, secrets hex), else `CUBBY_SERVER_SECRET`. */
function readKeys(flags: ServeFlags, env: Readonly<Record<string, string | undefined>>) {
  const hex = (field: string, value: unknown) => {
    if (typeof value !== 'string' || !/^(?:[0-9a-f]{2}){32,}$/i.test(value)) {
      throw new InvalidConfigError(field, 'must be a hex secret of at least 32 bytes (openssl rand -hex 32)')
    }
    return Buffer.from(value, 'hex')
  }
  if (flags.keys !== undefined) {
    let parsed: { keys?: { kid: string; secret: string }[]; retired?: string[] }
    try {
      parsed = JSON.parse(readFileSync(flags.keys, 'utf8'))
    } catch (error) {
      throw new InvalidConfigError('--keys', `cannot read ${flags.keys}: ${(error as Error).message}`)
    }
    const keys = (parsed.keys ?? []).map((key, i) => ({
      kid: key.kid,
      secret: hex(`--keys keys[${i}].secret`, key.secret),
    }))
    return { keys, retired: parsed.retired ?? [] }
  }
  const secret = env.CUBBY_SERVER_SECRET
  if (secret === undefined) {
    throw new InvalidConfigError('--keys', 'give a keys file (--keys FILE) or set CUBBY_SERVER_SECRET (hex)')
  }
  return { keys: [{ kid: env.CUBBY_SERVER_KID ?? 'k1', secret: hex('CUBBY_SERVER_SECRET', secret) }] }
}

/** `cubby serve`: serves a store to out-of-process plugins over the Cubby remote protocol until interrupted. */
export function registerServe(program: Command, ctx: CommandContext): void {
  program
    .command('serve')
    .description('serve a store to out-of-process plugins (@cubby/server) until interrupted')
    .option('--port <n>', 'TCP port (0 picks a free one)', '7411')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option(
      '--keys <file>',
      'token keys, JSON {"keys":[{"kid","secret":HEX}],"retired":[kid]} (default: $CUBBY_SERVER_SECRET)',
    )
    .addHelpText(
      'after',
      `
Plugins connect with CUBBY_URL=cubby+ws://HOST:PORT and a token minted by the host with mintToken() from
@cubby/server, using the same key. Runs until interrupted (Ctrl-C or SIGTERM), then exits 0.

Examples:
  CUBBY_SERVER_SECRET=$(openssl rand -hex 32) cubby serve --url sqlite:./data/cubby.db --port 7411`,
    )
    .action(async (flags: ServeFlags, command: Command) => {
      const port = flags.port === '0' ? 0 : parsePositiveInt(flags.port ?? '7411', '--port')
      const keys = readKeys(flags, ctx.env)
      const connection = await ctx.connect(command)
      const { createCubbyServer } = await import('@cubby/server')
      const server = createCubbyServer({ cubby: connection.cubby, keys })
      const address = await server.listen(port, flags.host)
      await write(ctx.stdout, `serving cubby+ws://${address.address}:${address.port} (${connection.url})\n`)
      await new Promise<void>((resolve) => {
        if (!ctx.signal) return // runs until the process is stopped
        if (ctx.signal.aborted) resolve()
        ctx.signal.addEventListener('abort', () => resolve(), { once: true })
      })
      await server.close()
    })
}
