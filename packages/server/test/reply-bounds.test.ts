import { FrameReader, FrameWriter, Kind, Op, readError } from '@cubby/backend-remote/wire'
import { openCubby } from '@cubby/core'
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest'
import { Probe } from './probe.js'
import { openRemote, startServer } from './support.js'

const VALUE = 64 * 1024

async function setup(maxFrameBytes = 512 * 1024) {
  const host = await openCubby({ url: 'memory:', limits: { maxValueBytes: VALUE } })
  onTestFinished(() => host.close())
  const s = await startServer(host, { maxFrameBytes })
  await host.scope('w', 'p').set('big', 'x'.repeat(VALUE - 64))
  const probe = await Probe.open(s.port)
  onTestFinished(() => probe.close())
  expect(await probe.auth(1, await s.token({ workspace: 'w', access: ['read'] }))).toBeUndefined()
  return { host, probe, ...s }
}

const get = (keys: string[]) => (w: FrameWriter) => {
  w.path([]).u8(1).u32(keys.length)
  for (const key of keys) w.str(key)
}

const detail = (frame: Buffer) => {
  const r = new FrameReader(frame)
  r.u8()
  r.u32()
  return readError(r)
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe('reply bounds (finding 1)', () => {
  it('a GET repeating a key past maxFrameBytes is refused with INVALID_CONFIG get.keys; the connection and server live on', async () => {
    const { probe, server } = await setup()
    const answer = await probe.send(Op.GET, 1, get(Array.from({ length: 400 }, () => 'big')))
    expect(answer.kind).toBe(Kind.ERROR)
    const error = detail(answer.frame)
    expect(error.code).toBe('INVALID_CONFIG')
    expect(error.detail).toMatchObject({ field: 'get.keys' })
    expect(error.message).toMatch(/maxFrameBytes.*read fewer keys/)
    // The same connection still answers, within the bound.
    const ok = await probe.send(Op.GET, 1, get(['big', 'big', 'missing']))
    expect(ok.kind).toBe(Kind.RESULT)
    expect(ok.frame.byteLength).toBeLessThanOrEqual(512 * 1024)
    expect(server.connectionCount).toBe(1)
  })

  it('a LIST without maxBytes whose page exceeds maxFrameBytes is refused, not cut short; with maxBytes it pages', async () => {
    const { host, probe, url, token } = await setup()
    for (let i = 0; i < 20; i++)
      await host.scope('w', 'p').set(`k${String(i).padStart(2, '0')}`, 'y'.repeat(VALUE - 64))
    const list = (maxBytes?: number) => (w: FrameWriter) => {
      w.path([])
        .u8(2 | (maxBytes === undefined ? 0 : 64))
        .u32(1000)
      if (maxBytes !== undefined) w.f64(maxBytes)
    }
    const refused = await probe.send(Op.LIST, 1, list())
    expect(refused.kind).toBe(Kind.ERROR)
    expect(detail(refused.frame).detail).toMatchObject({ field: 'list.limit' })
    const paged = await probe.send(Op.LIST, 1, list(4 * VALUE))
    expect(paged.kind).toBe(Kind.RESULT)
    // The page ends right after the entry that reaches maxBytes.
    expect(paged.reader.u32()).toBe(5)
    // The remote client splits a getMany refused as too large (each value fits alone), so it gets every value.
    const remote = await openRemote(url, await token({ workspace: 'w', access: ['read'] }))
    const store = remote.scope('w', 'p')
    const all = await store.getMany(Array.from({ length: 20 }, (_, i) => `k${String(i).padStart(2, '0')}`))
    expect(all.every((value) => value === 'y'.repeat(VALUE - 64))).toBe(true)
    expect((await store.getMany(['k00', 'k01'])).length).toBe(2)
  })

  it('an error thrown while building an answer becomes an ERROR answer, never an unhandled rejection', async () => {
    const { probe, server } = await setup()
    const bytes = vi.spyOn(FrameWriter.prototype, 'bytes').mockImplementationOnce(() => {
      throw new RangeError('Array buffer allocation failed')
    })
    const answer = await probe.send(Op.GET, 1, get(['big']))
    expect(bytes).toHaveBeenCalled()
    expect(answer.kind).toBe(Kind.ERROR)
    expect(answer.code).toBe('BACKEND')
    expect((await probe.send(Op.GET, 1, get(['big']))).kind).toBe(Kind.RESULT)
    expect(server.connectionCount).toBe(1)
  })

  it('when even the ERROR answer cannot be built, the connection is closed and the server keeps serving', async () => {
    const { server, port, token } = await setup()
    const victim = await Probe.open(port)
    onTestFinished(() => victim.close())
    expect(await victim.auth(1, await token({ workspace: 'w', access: ['read'] }))).toBeUndefined()
    expect(server.connectionCount).toBe(2)
    // Every frame the server writes (kind >= 0x80) fails to build; the client's requests (ops < 0x80) still go out.
    const original = FrameWriter.prototype.str
    const str = vi.spyOn(FrameWriter.prototype, 'str').mockImplementation(function (this: FrameWriter, value: string) {
      if ((this as unknown as { buffer: Uint8Array }).buffer[0]! >= 0x80) {
        throw new RangeError('Array buffer allocation failed')
      }
      return original.call(this, value)
    })
    void victim.send(Op.GET, 1, get(['big'])).catch(() => undefined)
    await vi.waitFor(() => expect(server.connectionCount).toBe(1), { timeout: 5000 })
    str.mockRestore()
    await vi.waitFor(() => expect(server.connectionCount).toBe(1))
    const other = await Probe.open(port)
    onTestFinished(() => other.close())
    expect(await other.auth(1, await token({ workspace: 'w', access: ['read'] }))).toBeUndefined()
  })
})
