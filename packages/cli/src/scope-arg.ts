import { DEFAULT_WORKSPACE } from '@cubby/core'
import { USER_LEVEL } from '@cubby/core/backend'
import { usageError } from './exit-codes.js'

/**
 * Scope paths on the command line.
 *
 * `--scope PATH` takes segments joined by `/`. Inside a segment, `%2F` stands for `/` and `%25` for `%` (any other
 * `%XX` UTF-8 percent-escape is decoded too, so a segment can hold any character, e.g. `%0A` for a newline; the
 * canonical form escapes control characters that way). The root
 * scope is the empty string or `/`. `formatScope` produces the canonical form, which `parseScope` reads back to the
 * same path: distinct paths always print differently.
 *
 * `--workspace`, `--plugin` and `--user` name the plugin-host scopes instead (`[workspace, plugin]`, and with
 * `--user` the user's scope `[workspace, plugin, '', user]`; the workspace defaults to `default`), the same paths as
 * `cubby.stores()`. In `--scope` syntax a user's scope is `W/P//USER`: the empty third segment is the user level
 * (core's `USER_LEVEL`), which no plugin sub-scope name can be, so `scopes -r` prints users that way.
 */

/** Parses a `--scope` argument into segments, or throws a usage error. */
export function parseScope(text: string): string[] {
  if (text === '' || text === '/') return []
  const segments = text.split('/')
  return segments.map((segment, index) => {
    // The user level: `W/P//USER` is user USER of plugin P (`formatScope` prints users so).
    if (segment === '' && index === 2 && segments.length >= 4) return segment
    if (segment === '') {
      throw usageError(`--scope ${JSON.stringify(text)}: segment ${index + 1} is empty (use %2F for a "/" in a name)`)
    }
    if (!segment.includes('%')) return segment
    try {
      return decodeURIComponent(segment)
    } catch {
      throw usageError(
        `--scope ${JSON.stringify(text)}: segment ${JSON.stringify(segment)} has a bad %-escape (write "%" as %25)`,
      )
    }
  })
}

/**
 * Characters escaped in the canonical form besides `%` and `/`: C0 and C1 controls, DEL, and the Unicode line and
 * paragraph separators, so a printed path is always one line of visible text that a script can read line by line.
 */
const UNPRINTABLE = /[%/\u0000-\u001f\u007f-\u009f\u2028\u2029]/gu

/**
 * The canonical `--scope` text of a path: in each segment `%`, `/` and control characters (a newline, a NUL, …) are
 * %-escaped as UTF-8 (`%0A`, `%00`, `%C2%85`), segments joined by `/`. `parseScope` reads it back to the same path.
 */
export function formatScope(path: readonly string[]): string {
  if (path.length === 0) return '/'
  return path.map((segment) => segment.replace(UNPRINTABLE, (char) => encodeURIComponent(char))).join('/')
}

/** The scope options a command accepts. */
export interface ScopeFlags {
  scope?: string
  workspace?: string
  plugin?: string
  user?: string
}

/** The scope path named by a command's flags; the root when none is given. */
export function scopeFromFlags(flags: ScopeFlags): string[] {
  const hostStyle = flags.workspace !== undefined || flags.plugin !== undefined || flags.user !== undefined
  if (flags.scope !== undefined && hostStyle) {
    throw usageError('give either --scope or --workspace/--plugin/--user, not both')
  }
  if (!hostStyle) return flags.scope === undefined ? [] : parseScope(flags.scope)
  if (flags.plugin === undefined) throw usageError('--workspace and --user need --plugin')
  const path = [flags.workspace ?? DEFAULT_WORKSPACE, flags.plugin]
  if (flags.user !== undefined) path.push(USER_LEVEL, flags.user)
  return path
}
