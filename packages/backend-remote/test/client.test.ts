import { createBackend, socketUrl, tokenContext } from '@cubby/backend-remote'
import { FrameReader, FrameWriter, readWrite, writeWrite } from '@cubby/backend-remote/wire'
import { openCubby } from '@cubby/core'
import { describe, expect, it } from 'vitest'

const jwt = (claims: object) => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`

describe('backend-remote client', () => {
  it('maps cubby+ws URLs to WebSocket URLs and refuses others', () => {
    expect(socketUrl('cubby+ws://127.0.0.1:7411')).toBe('ws://127.0.0.1:7411/')
    expect(socketUrl('CUBBY+WSS://host/x')).toBe('wss://host/x')
    expect(() => socketUrl('http://host')).toThrow(/cubby\+ws/)
  })

  it('reads the context a token names', () => {
    expect(tokenContext(jwt({ cw: 'w', cp: 'p', cu: 'u' }))).toEqual({ workspace: 'w', plugin: 'p', user: 'u' })
    expect(tokenContext(jwt({ cw: 'w', cp: 'p' }))).toEqual({ workspace: 'w', plugin: 'p' })
    expect(() => tokenContext(jwt({ root: true }))).toThrow(/context/)
    expect(() => tokenContext('nonsense')).toThrow(/token/)
  })

  it('needs a token, and fails with BACKEND within timeoutMs when no server listens', async () => {
    const init = { url: 'cubby+ws://127.0.0.1:9', clock: Date.now, timeoutMs: 500 }
    await expect(createBackend({ ...init, options: {} })).rejects.toMatchObject({ code: 'INVALID_CONFIG' })
    await expect(createBackend({ ...init, options: { bogus: 1 } })).rejects.toMatchObject({ code: 'INVALID_CONFIG' })
    const started = Date.now()
    const error = await openCubby({
      url: 'cubby+ws://127.0.0.1:9',
      token: jwt({ cw: 'w', cp: 'p' }),
      timeoutMs: 500,
    }).catch((e: { code?: string }) => e)
    expect((error as { code?: string }).code).toBe('BACKEND')
    expect(Date.now() - started).toBeLessThan(5000)
  })

  it('encodes write batches with TTLs relative to now, values as raw bytes', () => {
    const w = new FrameWriter()
    const value = new Uint8Array([0, 255, 1])
    writeWrite(w, [{ key: 'a', version: null }], [{ type: 'set', key: 'a', value, expiresAt: 1500 }], [], 1000)
    const batch = readWrite(new FrameReader(w.finish()))
    expect(batch.ops).toEqual([{ type: 'set', key: 'a', value, ttl: 500 }])
    expect(batch.checks).toEqual([{ key: 'a', version: null }])
  })
})
