import { createWriteStream, type WriteStream } from 'node:fs'
import { open, rename, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'
import { finished } from 'node:stream/promises'

/** A file being written in place of another: nothing at `path` changes until `commit()`. */
export interface OutputFile {
  /** Where to write: a temporary file next to `path`. */
  readonly stream: WriteStream
  /** Ends the stream, flushes it to disk and renames it over `path` (atomic on one file system). */
  commit(): Promise<void>
  /** Unless committed: closes the stream and deletes the temporary file. Safe to call more than once. */
  discard(): Promise<void>
}

/**
 * Opens `path.tmp-<pid>` for writing. `commit()` fsyncs it and renames it to `path`, so a reader (or a later
 * restore) never sees a half-written file under `path`, and a failed or interrupted write leaves any previous file
 * at `path` untouched. Rejects when the temporary file cannot be created (missing folder, no permission).
 */
export async function openOutput(path: string): Promise<OutputFile> {
  const temp = `${path}.tmp-${process.pid}`
  // `flush: true` fsyncs the file before it is closed; 'wx' never truncates anything that exists.
  const stream = createWriteStream(temp, { flags: 'wx', flush: true })
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => {
      stream.off('error', reject)
      resolve()
    })
    stream.once('error', reject)
  })
  // Write errors surface through `write()` (stream.errored) and `commit()` (finished); one emitted while nobody
  // listens, e.g. for a write still pending when `discard()` destroys the stream, must not crash the process.
  stream.on('error', () => {})
  let state: 'open' | 'committed' | 'discarded' = 'open'
  return {
    stream,
    async commit() {
      stream.end()
      await finished(stream)
      await rename(temp, path)
      state = 'committed'
      await syncFolder(dirname(path))
    },
    async discard() {
      if (state !== 'open') return
      state = 'discarded'
      if (!stream.closed) {
        const closed = new Promise<void>((resolve) => stream.once('close', () => resolve()))
        stream.destroy()
        await closed
      }
      await unlink(temp).catch(() => {})
    },
  }
}

/** Makes a rename durable where the platform allows it (best effort: not every file system supports it). */
async function syncFolder(folder: string): Promise<void> {
  try {
    const handle = await open(folder, 'r')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  } catch {
    // not supported here (e.g. Windows): the rename itself is still atomic
  }
}
