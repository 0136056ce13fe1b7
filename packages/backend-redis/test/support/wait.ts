import type { ChangeEvent, Watch } from '@cubby/core'
import { createClient, RESP_TYPES } from 'redis'

/** Polls `check` until it returns a truthy value (resolved to), failing after `timeoutMs` — a wide margin, not a timing assertion. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** The outcome of a promise as a short string: 'ok' or the error's code (for assertions on many calls at once). */
export const outcome = (promise: Promise<unknown>) =>
  promise.then(
    () => 'ok',
    (error: { code?: string; message?: string }) => error.code ?? `error: ${error.message}`,
  )

/** A plain client on one server, replies as Buffers when asked. */
export async function rawClient(port: number, password?: string) {
  const client = createClient({ socket: { host: '127.0.0.1', port }, ...(password ? { password } : {}) })
  client.on('error', () => {})
  await client.connect()
  return client
}

export const bufferReplies = { [RESP_TYPES.BLOB_STRING]: Buffer } as const

/** Usage computed from what Redis really holds for the listed keys: UTF-8 key bytes + stored value bytes. */
export async function measuredUsage(
  raw: Awaited<ReturnType<typeof rawClient>>,
  prefix: string,
  id: string,
  keys: string[],
): Promise<{ keys: number; bytes: number }> {
  let bytes = 0
  for (const key of keys) {
    const entry = (await raw.withTypeMapping(bufferReplies).get(`${prefix}:{${id}}:e:${id}:${key}`)) as Buffer | null
    if (!entry) throw new Error(`entry ${key} is listed but missing`)
    const b = entry.indexOf(0x7c, entry.indexOf(0x7c) + 1)
    bytes += Buffer.byteLength(key) + entry.length - b - 1
  }
  return { keys: keys.length, bytes }
}

/** Drains a watch into `events`; resolves to the error code it ended with ('ended' if it ended without one). */
export function ending(watch: Watch, events: ChangeEvent[] = []): Promise<string> {
  return (async () => {
    try {
      for await (const event of watch) events.push(event)
      return 'ended'
    } catch (error) {
      return (error as { code?: string }).code ?? String(error)
    }
  })()
}
