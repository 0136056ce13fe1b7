import { PassThrough, Readable, Writable } from 'node:stream'
import type { CliIO } from '../../src/index.js'
import { connect, run } from '../../src/index.js'
import { openCapturing, type TestConnection } from './capture.js'

/** What one in-process CLI run produced. */
export interface CliResult {
  code: number
  stdout: string
  stderr: string
  /** stdout as bytes (for `get` of binary values). */
  bytes: Buffer
}

/** A Writable that keeps everything written to it. */
export function collector(): Writable & { bytes(): Buffer; text(): string } {
  const chunks: Buffer[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk)
      done()
    },
  }) as Writable & { bytes(): Buffer; text(): string }
  stream.bytes = () => Buffer.concat(chunks)
  stream.text = () => Buffer.concat(chunks).toString('utf8')
  return stream
}

/** Runs `cubby ...argv` in-process and collects its output. */
export async function cli(
  argv: string[],
  options: Partial<Omit<CliIO, 'stdout' | 'stderr' | 'stdin'>> & { stdin?: string | Buffer } = {},
): Promise<CliResult> {
  const stdout = collector()
  const stderr = collector()
  const { stdin, ...rest } = options
  const io: CliIO = { stdout, stderr, env: {}, ...rest }
  if (stdin !== undefined) io.stdin = Readable.from([Buffer.from(stdin)])
  const code = await run(argv, io)
  return { code, stdout: stdout.text(), stderr: stderr.text(), bytes: stdout.bytes() }
}

/**
 * A `connect` for `CliIO` that hands out one shared in-process connection for each `memory:NAME` URL (plain
 * `memory:` opens a fresh store, as ever), so several runs can work on the same memory store.
 */
export function sharedMemory(): {
  connect: CliIO['connect']
  get(name: string): Promise<TestConnection>
  /** The shared store `memory:NAME`, as the test's own connection (closing it leaves the store open). */
  open(url: string): Promise<TestConnection>
  close(): Promise<void>
} {
  const stores = new Map<string, Promise<TestConnection>>()
  const get = (name: string) => {
    let connection = stores.get(name)
    if (!connection) {
      connection = openCapturing('memory:')
      stores.set(name, connection)
    }
    return connection
  }
  const open = async (url: string) => {
    const match = /^memory:(\w+)$/.exec(url)
    if (!match) throw new Error(`not a shared memory store: ${url}`)
    return { ...(await get(match[1]!)), close: async () => {} }
  }
  return {
    get,
    open,
    connect: async (url, options) => {
      const match = /^memory:(\w+)$/.exec(url)
      if (!match) return connect(url, options)
      const shared = await get(match[1]!)
      // Runs close what they open; the shared store outlives them.
      return { ...shared, close: async () => {} }
    },
    close: async () => {
      for (const connection of stores.values()) await (await connection).close()
      stores.clear()
    },
  }
}

/** A readable stream of text, for `import -`. */
export function textStream(text: string): Readable {
  const stream = new PassThrough()
  stream.end(text)
  return stream
}
