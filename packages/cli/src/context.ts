import type { Readable, Writable } from 'node:stream'
import { InvalidConfigError } from '@cubby/core'
import type { Command } from 'commander'
import { type Connection, type ConnectOptions, connect, resolveUrl } from './connection.js'
import { CliError, EXIT, type ExitCode, usageError } from './exit-codes.js'
import type { CliIO } from './io.js'
import { parsePositiveInt } from './value-format.js'

/** What every command gets: the streams, a way to open stores, and the exit code to return. */
export class CommandContext {
  readonly stdout: Writable
  readonly stderr: Writable
  readonly env: Readonly<Record<string, string | undefined>>
  readonly signal: AbortSignal | undefined
  /** The code `run` returns when the command finishes without throwing. */
  exitCode: ExitCode = EXIT.OK
  private readonly io: CliIO
  private readonly open = new Set<Connection>()

  constructor(io: CliIO) {
    this.io = io
    this.stdout = io.stdout
    this.stderr = io.stderr
    this.env = io.env ?? process.env
    this.signal = io.signal
  }

  /** Standard input, for `import -` and `set --file -`. */
  get stdin(): Readable {
    return this.io.stdin ?? process.stdin
  }

  /**
   * Opens a store: `url`, else the program's `--url`, else `CUBBY_URL`, else the SQLite default. It is closed when
   * the command ends. A `sqlite:` file that does not exist is refused (`NO_SUCH_STORE`) unless `create` is set:
   * only `set`, `import` and a migrate target may create a store, so a typo never "succeeds" on an empty one.
   * `options` are `name=value` pairs for this store only (`migrate --from-option/--to-option`), added after the
   * program's `--option` pairs (which apply to every store), so they win on a shared name.
   */
  async connect(
    command: Command,
    url?: string,
    { create = false, options: own = [] }: { create?: boolean; options?: readonly string[] } = {},
  ): Promise<Connection> {
    const globals = command.optsWithGlobals<{ url?: string; timeout?: string; option?: string[] }>()
    const options: ConnectOptions = { mustExist: !create }
    if (globals.timeout !== undefined) options.timeoutMs = parsePositiveInt(globals.timeout, '--timeout')
    const pairs = [...(globals.option ?? []), ...own]
    if (pairs.length > 0) options.backendOptions = parseBackendOptions(pairs)
    const target = url ?? resolveUrl(globals.url, this.env)
    let connection: Connection
    try {
      connection = await (this.io.connect ?? connect)(target, options)
    } catch (error) {
      throw explainOption(error, pairs)
    }
    this.open.add(connection)
    return connection
  }

  /** Closes every store opened by the command. */
  async closeAll(): Promise<void> {
    const all = [...this.open]
    this.open.clear()
    await Promise.all(all.map((connection) => connection.close()))
  }
}

/**
 * `--option name=value` pairs as backend options; a value that parses as JSON is used as such (numbers, booleans,
 * objects such as `limits={"maxValueBytes":8388608}`), anything else is the text itself. To pass text that looks like
 * JSON (`prefix=2024`), quote it as a JSON string: `prefix="2024"`.
 */
export function parseBackendOptions(pairs: readonly string[]): Record<string, unknown> {
  const options: Record<string, unknown> = {}
  for (const pair of pairs) {
    const at = pair.indexOf('=')
    if (at < 1) throw usageError(`--option ${JSON.stringify(pair)} is not NAME=VALUE`)
    const text = pair.slice(at + 1)
    let value: unknown = text
    try {
      value = JSON.parse(text)
    } catch {
      // not JSON: the text itself
    }
    options[pair.slice(0, at)] = value
  }
  return options
}

/**
 * When a backend rejects an option that `--option` turned into a number, boolean or object, says how to pass it
 * as text instead (`prefix=2024` is the number 2024; `prefix="2024"` is the string).
 */
function explainOption(error: unknown, pairs: readonly string[]): unknown {
  if (!(error instanceof InvalidConfigError)) return error
  const pair = pairs.find((p) => p.slice(0, p.indexOf('=')) === error.field)
  if (pair === undefined) return error
  const text = pair.slice(pair.indexOf('=') + 1)
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return error
  }
  if (typeof parsed === 'string') return error
  return new CliError(
    EXIT.USAGE,
    error.code,
    `${error.message} (--option ${pair} was read as JSON ${typeof parsed === 'object' ? 'data' : typeof parsed}; ` +
      `for the text, write --option '${error.field}=${JSON.stringify(text)}')`,
    { cause: error },
  )
}
