import type { KVStore, Watch } from '@cubby/core'
import type { WatchCallback } from 'unstorage'

/** Receives the error that ended a watch (the driver watches again), or that a watch callback threw. */
export type WatchErrorHandler = (error: unknown) => void

const FIRST_PAUSE_MS = 100
const MAX_PAUSE_MS = 5_000

/** The default `onWatchError`: a process warning, so the error is seen without crashing the host. */
function warn(error: unknown): void {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
  process.emitWarning(`@cubby/unstorage watch: ${message}; watching again`, 'CubbyWatchWarning')
}

/**
 * Watches every key of `scope` and calls `callback('update' | 'remove', key)` per change. Resolves once the first
 * watch observes (changes that start after are delivered) to a function that stops it. When a watch ends with an
 * error it reports it to `onError` and watches again after a pause (100 ms, doubling up to 5 s, reset once a watch
 * is ready again); changes between the two watches are not replayed, which the report says.
 */
export async function startWatch(
  scope: KVStore,
  callback: WatchCallback,
  onError: WatchErrorHandler = warn,
): Promise<() => Promise<void>> {
  const controller = new AbortController()
  const { signal } = controller
  const first = scope.watch({}, { signal })
  await first.ready
  const loop = (async () => {
    let watch: Watch | undefined = first
    let pause = FIRST_PAUSE_MS
    while (!signal.aborted) {
      if (!watch) {
        try {
          watch = scope.watch({}, { signal })
          await watch.ready
          pause = FIRST_PAUSE_MS
        } catch (error) {
          if (signal.aborted) return
          onError(error)
          watch = undefined
          await sleep(pause, signal)
          pause = Math.min(pause * 2, MAX_PAUSE_MS)
          continue
        }
      }
      try {
        for await (const event of watch) {
          try {
            await callback(event.type === 'set' ? 'update' : 'remove', event.key)
          } catch (error) {
            onError(error)
          }
        }
        // Ended without an error: aborted by us, or the cubby was closed. Either way there is nothing to watch.
        return
      } catch (error) {
        if (signal.aborted) return
        onError(error)
      }
      watch = undefined
      await sleep(pause, signal)
      pause = Math.min(pause * 2, MAX_PAUSE_MS)
    }
  })()
  return async () => {
    controller.abort()
    await loop
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}
