import { FrameReader, FrameWriter } from '@cubby/backend-remote/wire'
import { openCubby } from '@cubby/core'
import { describe, expect, it, onTestFinished } from 'vitest'
import { openRemote, startServer } from './support.js'

describe('a leading U+FEFF survives the wire (finding 5)', () => {
  it('FrameReader keeps a leading BOM in strings', () => {
    const w = new FrameWriter()
    w.str('\uFEFFa').path(['\uFEFF', '\uFEFFx'])
    const r = new FrameReader(w.finish())
    expect(r.str()).toBe('\uFEFFa')
    expect(r.path()).toEqual(['\uFEFF', '\uFEFFx'])
  })

  it('keeps it past the short-string fast path too (long strings, pooled Buffers, a frame as a Uint8Array)', () => {
    const long = `\uFEFF${'k'.repeat(200)}`
    const w = new FrameWriter(8)
    w.str(long)
      .str('\uFEFF')
      .str(`\uFEFF${'é'.repeat(60)}`)
    const frame = w.finish()
    for (const input of [frame, new Uint8Array(frame)]) {
      const r = new FrameReader(input)
      expect(r.str()).toBe(long)
      expect(r.str()).toBe('\uFEFF')
      expect(r.str()).toBe(`\uFEFF${'é'.repeat(60)}`)
      r.end()
    }
  })

  it('a BOM-leading key and scope segment stay distinct from the plain ones, both ways', async () => {
    const host = await openCubby('memory:')
    onTestFinished(() => host.close())
    const { url, token } = await startServer(host)
    const remote = await openRemote(url, await token({ workspace: 'w', user: 'alice' }))
    const plugin = host.scope('w', 'p')
    await plugin.set('a', 'plain')
    const store = remote.scope('w', 'p')
    await store.set('\uFEFFa', 'bom')
    await store.scope('\uFEFFx').set('k', 'in bom scope')
    await store.scope('x').set('k', 'in plain scope')
    // On the host, nothing was overwritten or merged.
    expect(await plugin.get('a')).toBe('plain')
    expect(await plugin.get('\uFEFFa')).toBe('bom')
    expect(await plugin.scope('\uFEFFx').get('k')).toBe('in bom scope')
    expect(await plugin.scope('x').get('k')).toBe('in plain scope')
    // Back through the client: keys and scope names keep their BOM.
    const page = await store.list({ values: false })
    expect(page.entries.map((entry) => entry.key).sort()).toEqual(['a', '\uFEFFa'].sort())
    expect((await store.scopes()).names.sort()).toEqual(['x', '\uFEFFx'].sort())
    expect(await store.get('\uFEFFa')).toBe('bom')
    // A segment that is just U+FEFF is a sub-scope, not the user level ''.
    await store.scope('\uFEFF').set('k', 1)
    expect(await plugin.scope('\uFEFF').get('k')).toBe(1)
  })
})
