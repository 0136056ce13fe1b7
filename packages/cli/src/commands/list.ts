import type { Entry, KeyInfo, ListOptions } from '@cubby/core'
import type { Command } from 'commander'
import type { CommandContext } from '../context.js'
import { write } from '../io.js'
import type { ScopeFlags } from '../scope-arg.js'
import { displayExpiry, displayValue, parsePositiveInt, toTaggedJson } from '../value-format.js'
import { scopeOptions, storeFor } from './shared.js'

interface ListFlags extends ScopeFlags {
  prefix?: string
  start?: string
  end?: string
  reverse?: boolean
  limit: string
  all?: boolean
  cursor?: string
  keysOnly?: boolean
  json?: boolean
}

const KEY_WIDTH = 40
const VALUE_WIDTH = 60

/** `cubby list`: a scope's own keys in order, as a table or JSON, paged with a cursor. */
export function registerList(program: Command, ctx: CommandContext): void {
  scopeOptions(program.command('list').alias('ls').description("list a scope's own keys in UTF-8 byte order"))
    .option('--prefix <text>', 'only keys starting with this')
    .option('--start <key>', 'only keys >= this')
    .option('--end <key>', 'only keys < this')
    .option('-r, --reverse', 'descending order')
    .option('-n, --limit <n>', 'at most this many entries', '100')
    .option('-a, --all', 'every entry (no limit)')
    .option('--cursor <cursor>', 'continue after a previous listing (the cursor it printed)')
    .option('-k, --keys-only', 'keys only (no values)')
    .option('--json', 'a JSON array of {key, value, version, expiresAt}; values as tagged JSON')
    .addHelpText(
      'after',
      `
Child scopes are not included (see \`cubby scopes\`). When more entries remain, the cursor to continue with is
printed on stderr. An empty listing prints "(no keys)" on stderr (the table) or [] (--json).

Examples:
  cubby list -s acme/weather --prefix city:
  cubby list --plugin todo --user alice --json | jq '.[].value'`,
    )
    .action(async (flags: ListFlags, command: Command) => {
      let remaining = flags.all ? Number.POSITIVE_INFINITY : parsePositiveInt(flags.limit, '--limit')
      const connection = await ctx.connect(command)
      const store = storeFor(connection, flags)
      const base: ListOptions = { values: !flags.keysOnly }
      for (const bound of ['prefix', 'start', 'end'] as const)
        if (flags[bound] !== undefined) base[bound] = flags[bound]
      if (flags.reverse) base.reverse = true
      const out = flags.json ? jsonWriter(ctx) : tableWriter(ctx, !flags.keysOnly)
      let cursor = flags.cursor
      do {
        const page = await store.list({ ...base, limit: Math.min(remaining, 1000), cursor } as ListOptions & {
          values: true
        })
        await out.page(page.entries)
        remaining -= page.entries.length
        cursor = page.cursor
      } while (cursor !== undefined && remaining > 0)
      await out.end()
      if (cursor !== undefined) await write(ctx.stderr, `more entries remain; continue with --cursor ${cursor}\n`)
    })
}

interface Writer {
  page(entries: (Entry | KeyInfo)[]): Promise<void>
  end(): Promise<void>
}

/** Streams one JSON array, so any number of entries prints in constant memory. */
function jsonWriter(ctx: CommandContext): Writer {
  let first = true
  return {
    async page(entries) {
      let chunk = ''
      for (const entry of entries) {
        const json: Record<string, unknown> = { key: entry.key }
        if ('value' in entry) json.value = toTaggedJson(entry.value)
        json.version = entry.version
        if (entry.expiresAt !== undefined) json.expiresAt = entry.expiresAt
        chunk += `${first ? '[\n' : ',\n'}  ${JSON.stringify(json)}`
        first = false
      }
      await write(ctx.stdout, chunk)
    },
    async end() {
      await write(ctx.stdout, first ? '[]\n' : '\n]\n')
    },
  }
}

/** Fixed-width columns: KEY, VALUE (a one-line preview), EXPIRES. Keys with odd characters are shown quoted. */
function tableWriter(ctx: CommandContext, values: boolean): Writer {
  let header = false
  return {
    async page(entries) {
      if (entries.length === 0) return
      const now = Date.now()
      let chunk = ''
      if (!header) {
        chunk += row(['KEY', ...(values ? ['VALUE'] : []), 'EXPIRES'])
        header = true
      }
      for (const entry of entries) {
        const cells = [showKey(entry.key)]
        if ('value' in entry) cells.push(displayValue(entry.value))
        cells.push(displayExpiry(entry.expiresAt, now))
        chunk += row(cells)
      }
      await write(ctx.stdout, chunk)
    },
    async end() {
      if (!header) await write(ctx.stderr, '(no keys)\n')
    },
  }

  function row(cells: string[]): string {
    const widths = values ? [KEY_WIDTH, VALUE_WIDTH] : [KEY_WIDTH]
    return `${cells.map((cell, i) => (i < widths.length ? fit(cell, widths[i]!) : cell)).join('  ')}\n`
  }
}

/** A key as shown in a table: as it is, or JSON-quoted when it has spaces, quotes or control characters. */
function showKey(key: string): string {
  return /^[\x21-\x7e\u{a0}-\u{10ffff}]+$/u.test(key) && !key.includes('"') ? key : JSON.stringify(key)
}

function fit(text: string, width: number): string {
  const flat = text.replace(/\s+/g, ' ')
  const chars = Array.from(flat)
  return chars.length > width ? `${chars.slice(0, width - 1).join('')}…` : flat + ' '.repeat(width - chars.length)
}
