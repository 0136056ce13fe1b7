import { EventEmitter } from 'node:events'
import type { ServerResponse } from 'node:http'
import { describe, expect, it } from 'vitest'
import type { ServerEvent } from '../src/plugin.js'
import { sendEvents } from '../src/sse.js'

/** A response whose socket is "full" until `drain()` is called. */
function slowResponse() {
  const res = new EventEmitter() as EventEmitter & Partial<ServerResponse> & { written: string[]; drain(): void }
  res.written = []
  let full = false
  Object.assign(res, {
    writableNeedDrain: false,
    destroyed: false,
    writeHead: () => res,
    flushHeaders: () => {},
    write: (chunk: string) => {
      res.written.push(chunk)
      full = true
      return false
    },
    end: () => {},
    drain: () => {
      full = false
      res.emit('drain')
    },
  })
  return { res, isFull: () => full }
}

describe('sendEvents', () => {
  it('waits for the socket to drain before taking the next event (back-pressure)', async () => {
    const { res } = slowResponse()
    let pulled = 0
    async function* events(): AsyncGenerator<ServerEvent> {
      for (let i = 0; i < 3; i++) {
        pulled++
        yield { event: 'n', data: i }
      }
    }
    const sending = sendEvents(res as unknown as ServerResponse, events(), new AbortController().signal, String)
    // The first event is written, then the sender waits: the second is not even pulled from the watch.
    await new Promise((resolve) => setImmediate(resolve))
    expect(res.written).toHaveLength(1)
    expect(pulled).toBe(1)
    res.drain()
    await new Promise((resolve) => setImmediate(resolve))
    expect(res.written).toHaveLength(2)
    res.drain()
    await new Promise((resolve) => setImmediate(resolve))
    res.drain()
    await sending
    expect(res.written.map((chunk) => chunk.split('\n')[1])).toEqual(['data: 0', 'data: 1', 'data: 2'])
  })

  it('stops waiting when the request is aborted', async () => {
    const { res } = slowResponse()
    const controller = new AbortController()
    async function* forever(): AsyncGenerator<ServerEvent> {
      for (;;) yield { data: 'x' }
    }
    const sending = sendEvents(res as unknown as ServerResponse, forever(), controller.signal, String)
    await new Promise((resolve) => setImmediate(resolve))
    controller.abort()
    await sending
    expect(res.written).toHaveLength(1)
  })
})
