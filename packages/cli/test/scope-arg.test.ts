import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CliError, EXIT } from '../src/exit-codes.js'
import { formatScope, parseScope, scopeFromFlags } from '../src/scope-arg.js'

const segment = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).filter((s) => s.isWellFormed())
const tricky = fc.constantFrom('/', '%', '%2F', '%25', 'a/b', '%%', '%zz', ' ', '\u0000', '🐈', '..')
const path = fc.array(fc.oneof(segment, tricky), { maxLength: 8 })

describe('scope paths on the command line', () => {
  it('parse(format(path)) is the path, for any segments', () => {
    fc.assert(
      fc.property(path, (p) => {
        expect(parseScope(formatScope(p))).toEqual(p)
      }),
    )
  })

  it('parse(format(path)) is the path for user scopes too, [w, p, "", user, ...]', () => {
    const userPath = fc
      .tuple(fc.oneof(segment, tricky), fc.oneof(segment, tricky), fc.oneof(segment, tricky), path)
      .map(([w, p, u, rest]) => [w, p, '', u, ...rest.slice(0, 4)])
    fc.assert(
      fc.property(userPath, (p) => {
        expect(parseScope(formatScope(p))).toEqual(p)
      }),
    )
  })

  it('formatting is injective: distinct paths print differently', () => {
    fc.assert(
      fc.property(path, path, (a, b) => {
        if (JSON.stringify(a) !== JSON.stringify(b)) expect(formatScope(a)).not.toBe(formatScope(b))
      }),
    )
  })

  it('the canonical form is one line of visible text: control characters are escaped, and parse back', () => {
    const control = fc
      .integer({ min: 0, max: 0x9f })
      .filter((c) => c < 0x20 || c >= 0x7f)
      .map((c) => String.fromCharCode(c))
    const withControls = fc.array(fc.oneof(segment, control, fc.constantFrom('\u2028', '\u2029', 'a\nb', 'x\r\ny')), {
      minLength: 1,
      maxLength: 6,
    })
    fc.assert(
      fc.property(withControls, (p) => {
        const text = formatScope(p)
        expect(text).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u)
        expect(parseScope(text)).toEqual(p)
      }),
    )
    expect(formatScope(['a\nb', 'c\u0000', '\r'])).toBe('a%0Ab/c%00/%0D')
  })

  it('reads the documented syntax', () => {
    expect(parseScope('')).toEqual([])
    expect(parseScope('/')).toEqual([])
    expect(parseScope('acme/weather')).toEqual(['acme', 'weather'])
    expect(parseScope('a%2Fb/c%25d')).toEqual(['a/b', 'c%d'])
    expect(parseScope('caf%C3%A9')).toEqual(['café'])
    expect(formatScope(['a/b', 'c%d'])).toBe('a%2Fb/c%25d')
    // the user level: an empty third segment, only before a user id
    expect(parseScope('w/p//alice/drafts')).toEqual(['w', 'p', '', 'alice', 'drafts'])
    expect(formatScope(['w', 'p', '', 'a/b'])).toBe('w/p//a%2Fb')
  })

  it('rejects empty segments and bad escapes as usage errors', () => {
    for (const bad of ['a//b', 'a/', '/a', '%', 'a%2', '%ZZ', '%ED%A0%80', 'w/p/', 'w/p//', 'w/p//u//x', 'w/p///u']) {
      const error = (() => {
        try {
          parseScope(bad)
        } catch (e) {
          return e
        }
      })()
      expect(error, bad).toBeInstanceOf(CliError)
      expect((error as CliError).exitCode).toBe(EXIT.USAGE)
    }
  })

  it('maps --workspace/--plugin/--user to the plugin-host hierarchy', () => {
    expect(scopeFromFlags({ plugin: 'todo' })).toEqual(['default', 'todo'])
    expect(scopeFromFlags({ plugin: 'todo', user: 'alice', workspace: 'acme' })).toEqual(['acme', 'todo', '', 'alice'])
    expect(() => scopeFromFlags({ user: 'alice' })).toThrow(/need --plugin/)
    expect(() => scopeFromFlags({ scope: 'a', plugin: 'p' })).toThrow(/not both/)
  })
})
