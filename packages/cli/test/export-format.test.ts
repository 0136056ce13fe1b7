import { legacyToUserLayout } from '@cubby/core/backend'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { entryLine, headerLine, legacyEntryScope, legacyRoot, parseLine, trailerLine } from '../src/export-format.js'

describe('export format', () => {
  it('round-trips header, entries and trailer', () => {
    const header = parseLine(headerLine(['a', 'b'], 'memory:').trimEnd())
    expect(header).toMatchObject({ kind: 'header', header: { cubby: 'export', version: 2, root: ['a', 'b'] } })
    const bytes = new Uint8Array([1, 0x6a, 0x34, 0x32])
    const entry = parseLine(entryLine(['x/y', '🐈'], 'k\n"', bytes, 1234).trimEnd())
    expect(entry).toEqual({
      kind: 'entry',
      entry: { scope: ['x/y', '🐈'], key: 'k\n"', value: Buffer.from(bytes), expiresAt: 1234 },
    })
    expect(parseLine(entryLine([], 'k', bytes).trimEnd())).toEqual({
      kind: 'entry',
      entry: { scope: [], key: 'k', value: Buffer.from(bytes) },
    })
    expect(parseLine(trailerLine(7).trimEnd())).toEqual({ kind: 'trailer', trailer: { cubby: 'end', entries: 7 } })
  })

  it('says what is wrong with a bad line', () => {
    expect(() => parseLine('{')).toThrow('is not JSON')
    expect(() => parseLine('[1]')).toThrow('is not a JSON object')
    expect(() => parseLine('{"scope":"a","key":"k","value":""}')).toThrow('"scope"')
    expect(() => parseLine('{"scope":[],"key":1,"value":""}')).toThrow('"key"')
    expect(() => parseLine('{"scope":[],"key":"k","value":"not base64!"}')).toThrow('base64')
    expect(() => parseLine('{"scope":[],"key":"k","value":"AA==","expiresAt":-1}')).toThrow('expiresAt')
    expect(() => parseLine('{"cubby":"export","version":3,"root":[],"value":"base64"}')).toThrow('version 3')
    expect(() => parseLine('{"cubby":"end"}')).toThrow('entries')
  })

  it('reads version 1 and maps its paths into the user level (legacyToUserLayout of root + scope)', () => {
    expect(parseLine('{"cubby":"export","version":1,"root":["w"],"value":"base64"}')).toMatchObject({
      header: { version: 1, root: ['w'] },
    })
    // root [] or [w] or [w, p]: the third absolute segment becomes a user
    expect(legacyEntryScope([], ['w', 'p'])).toEqual(['w', 'p'])
    expect(legacyEntryScope([], ['w', 'p', 'alice', 'drafts'])).toEqual(['w', 'p', '', 'alice', 'drafts'])
    expect(legacyEntryScope(['w'], ['p', 'alice'])).toEqual(['p', '', 'alice'])
    expect(legacyEntryScope(['w', 'p'], ['alice'])).toEqual(['', 'alice'])
    expect(legacyEntryScope(['w', 'p'], [])).toEqual([])
    // a root inside a user: the root maps, entry scopes stay relative to it
    expect(legacyRoot(['w', 'p', 'alice'])).toEqual(['w', 'p', '', 'alice'])
    expect(legacyEntryScope(['w', 'p', 'alice'], ['drafts'])).toEqual(['drafts'])
  })

  it('puts every version-1 entry where legacyToUserLayout puts its absolute path, whatever the root', () => {
    const segment = fc.string({ minLength: 1, maxLength: 4 })
    const split = fc
      .array(segment, { maxLength: 8 })
      .chain((path) => fc.nat(path.length).map((at) => [path.slice(0, at), path.slice(at)] as const))
    fc.assert(
      fc.property(split, ([root, scope]) => {
        expect([...legacyRoot(root), ...legacyEntryScope(root, scope)]).toEqual(legacyToUserLayout([...root, ...scope]))
      }),
    )
  })
})
