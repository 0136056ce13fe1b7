import type { Readable, Writable } from 'node:stream'
import type { Command } from 'commander'
import { type Connection, type ConnectOptions, connect, resolveUrl } from './connection.js'
import { EXIT, type ExitCode, usageError } from './exit-codes.js'
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
   * the command ends.
   */
  async connect(command: Command, url?: string): Promise<Connection> {
    const globals = command.optsWithGlobals<{ url?: string; timeout?: string; option?: string[] }>()
    const options: ConnectOptions = {}
    if (globals.timeout !== undefined) options.timeoutMs = parsePositiveInt(globals.timeout, '--timeout')
    if (globals.option !== undefined) options.backendOptions = parseBackendOptions(globals.option)
    const target = url ?? resolveUrl(globals.url, this.env)
    const connection = await (this.io.connect ?? connect)(target, options)
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

/** `--option name=value` pairs as backend options; a value that parses as JSON is used as such (numbers, booleans). */
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
