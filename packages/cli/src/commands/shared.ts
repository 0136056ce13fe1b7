import type { KVStore } from '@cubby/core'
import { type Command, Option } from 'commander'
import type { Connection } from '../connection.js'
import { type ScopeFlags, scopeFromFlags } from '../scope-arg.js'
import { viewAt } from '../scope-view.js'

/** Adds `--scope` and the plugin-host shorthands `--workspace`, `--plugin`, `--user` to a command. */
export function scopeOptions(command: Command, what = 'the scope'): Command {
  return command
    .option('-s, --scope <path>', `${what}: segments joined by "/", with %2F for "/" and %25 for "%" (default: root)`)
    .addOption(new Option('-w, --workspace <name>', 'plugin-host scope: workspace (default: "default")'))
    .addOption(new Option('-p, --plugin <id>', 'plugin-host scope: [workspace, plugin]'))
    .addOption(new Option('-u, --user <id>', "plugin-host scope: the user's scope [workspace, plugin, '', user]"))
}

/** The store named by a command's scope options. */
export function storeFor(connection: Connection, flags: ScopeFlags): KVStore {
  return viewAt(connection.cubby, scopeFromFlags(flags))
}

/** Whether any scope option was given. */
export function hasScopeFlags(flags: ScopeFlags): boolean {
  return [flags.scope, flags.workspace, flags.plugin, flags.user].some((value) => value !== undefined)
}

/** A scope path for messages, as JSON (unambiguous for any segment). */
export function showPath(path: readonly string[]): string {
  return JSON.stringify(path)
}
