import type { WatchFilter } from '@cubby/core'
import type { Command } from 'commander'
import type { CommandContext } from '../context.js'
import { write } from '../io.js'
import type { ScopeFlags } from '../scope-arg.js'
import { toTaggedJson } from '../value-format.js'
import { scopeOptions, showPath, storeFor } from './shared.js'

interface WatchFlags extends ScopeFlags {
  prefix?: string
  key?: string[]
  values?: boolean
}

/** `cubby watch`: streams change events of a scope's own keys as JSON lines until interrupted. */
export function registerWatch(program: Command, ctx: CommandContext): void {
  scopeOptions(program.command('watch').description("stream changes to a scope's own keys, one JSON line per event"))
    .option('--prefix <text>', 'only keys starting with this')
    .option('-k, --key <key>', 'only this key (repeatable)', (key: string, keys: string[] = []) => [...keys, key])
    .option('--values', 'add the value (tagged JSON) read right after each set event; absent if already deleted')
    .addHelpText(
      'after',
      `
Events come from every process using the same store. Each line is
  {"at":"<ISO time>","type":"set"|"delete","key":"…","version":"…"}
Runs until interrupted (Ctrl-C or SIGTERM), then exits 0. On a sqlite: URL the file must exist.

Examples:
  cubby watch --plugin feed
  cubby watch -s acme/weather --prefix city: --values`,
    )
    .action(async (flags: WatchFlags, command: Command) => {
      const connection = await ctx.connect(command)
      const store = storeFor(connection, flags)
      const filter: WatchFilter = {}
      if (flags.prefix !== undefined) filter.prefix = flags.prefix
      if (flags.key !== undefined) filter.keys = flags.key
      const watch = store.watch(filter, ctx.signal ? { signal: ctx.signal } : {})
      // Some backends poll with unref'd timers (SQLite) or need nothing at all (memory): without a handle of our
      // own, Node would find nothing left to wait for and exit at once. This one holds the process until the watch
      // ends (Ctrl-C / SIGTERM abort it).
      const keepAlive = setInterval(() => {}, 1 << 30)
      try {
        await watch.ready
        await write(ctx.stderr, `watching scope ${showPath(store.path)} (Ctrl-C to stop)\n`)
        for await (const event of watch) {
          const line: Record<string, unknown> = { at: new Date().toISOString(), ...event }
          if (flags.values && event.type === 'set') {
            // Read after the event: it may be newer than the event, or gone (then no "value" is printed).
            const entry = await store.getEntry(event.key)
            if (entry) line.value = toTaggedJson(entry.value)
          }
          await write(ctx.stdout, `${JSON.stringify(line)}\n`)
        }
      } finally {
        clearInterval(keepAlive)
        watch.close()
      }
    })
}
