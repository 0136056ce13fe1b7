import type { Readable, Writable } from 'node:stream'
import type { Connection, ConnectOptions } from './connection.js'

/** Where a CLI run reads and writes, so that `run()` can be driven in-process by tests and embedders. */
export interface CliIO {
  /** Command output (values, tables, export data). */
  stdout: Writable
  /** Diagnostics, summaries and progress bars. */
  stderr: Writable
  /** Input of `import -` and `set --file -`. @default process.stdin */
  stdin?: Readable
  /** Environment, read for `CUBBY_URL`. @default process.env */
  env?: Readonly<Record<string, string | undefined>>
  /** Aborting ends long-running commands (`watch`, `export`, `import`, `migrate`) cleanly. @default none */
  signal?: AbortSignal
  /** Opens a store by URL. Inject one to share an in-process store (e.g. `memory:`) across runs. @default connect */
  connect?: (url: string, options: ConnectOptions) => Promise<Connection>
}

/**
 * Writes to a stream, waiting for it to drain when its buffer is full, so that a fast producer (an export of a
 * million keys) never piles data up in memory. Rejects when the stream has failed or was closed, rather than
 * waiting for a drain that will never come, and with `signal`'s reason when it aborts during the wait (Ctrl-C on
 * `cubby export | a-stalled-reader`).
 */
export async function write(stream: Writable, chunk: string | Uint8Array, signal?: AbortSignal): Promise<void> {
  if (stream.errored) throw stream.errored
  if (stream.destroyed || stream.writableEnded) throw new Error('the output was closed before the end')
  if (stream.write(chunk)) return
  await new Promise<void>((resolve, reject) => {
    const done = (error?: unknown) => {
      stream.off('drain', onDrain)
      stream.off('error', done)
      stream.off('close', onClose)
      signal?.removeEventListener('abort', onAbort)
      if (error) reject(error)
      else resolve()
    }
    const onDrain = () => done()
    const onClose = () => done(stream.errored ?? undefined)
    const onAbort = () => done(signal!.reason)
    stream.on('drain', onDrain)
    stream.on('error', done)
    stream.on('close', onClose)
    signal?.addEventListener('abort', onAbort)
    // It may have failed during the write call itself, before the listeners were there.
    if (stream.errored) done(stream.errored)
    else if (stream.destroyed) done()
    else if (signal?.aborted) onAbort()
  })
}

/** Whether a stream is an interactive terminal (progress bars and colours only make sense there). */
export function isTTY(stream: Writable): boolean {
  return (stream as Writable & { isTTY?: boolean }).isTTY === true
}
