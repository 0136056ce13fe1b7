/** One parsed Server-Sent Event. */
export interface SseEvent {
  event: string
  id?: string
  data: unknown
}

/** An open SSE stream: wait for events matching a predicate, then close. */
export interface SseClient {
  /** Resolves with the first event (received so far or later) matching `match`; rejects after `timeoutMs`. */
  next(match: (event: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>
  events: SseEvent[]
  close(): void
}

/** Opens `url` as an event stream with fetch and parses events as they arrive. */
export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const controller = new AbortController()
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal })
  if (response.status !== 200 || !response.body) throw new Error(`SSE ${url}: status ${response.status}`)
  const events: SseEvent[] = []
  const waiters = new Set<() => void>()
  ;(async () => {
    const decoder = new TextDecoder()
    let buffer = ''
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true })
        for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const event: SseEvent = { event: 'message', data: undefined }
          let isEvent = false
          for (const line of block.split('\n')) {
            const [field, ...rest] = line.split(': ')
            const value = rest.join(': ')
            if (field === 'event') event.event = value
            else if (field === 'id') event.id = value
            else if (field === 'data') {
              event.data = JSON.parse(value)
              isEvent = true
            }
          }
          if (isEvent) events.push(event)
          for (const wake of waiters) wake()
        }
      }
    } catch {
      // aborted by close()
    }
  })()
  return {
    events,
    close: () => controller.abort(),
    next: (match, timeoutMs = 10_000) =>
      new Promise<SseEvent>((resolve, reject) => {
        const check = () => {
          const found = events.find(match)
          if (!found) return
          clearTimeout(timer)
          waiters.delete(check)
          resolve(found)
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`no matching event within ${timeoutMs} ms; got ${JSON.stringify(events)}`))
        }, timeoutMs)
        waiters.add(check)
        check()
      }),
  }
}
