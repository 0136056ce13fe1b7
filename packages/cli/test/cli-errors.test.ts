import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect, EXIT } from '../src/index.js'
import { cli, sharedMemory } from './support/cli.js'

const memory = sharedMemory()
let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cubby-cli-errors-'))
})
afterAll(async () => {
  await memory.close()
  await rm(dir, { recursive: true, force: true })
})

const run = (...argv: string[]) => cli(['--url', 'memory:main', ...argv], { connect: memory.connect })

describe('usage errors and help', () => {
  it('exits 2 with a one-line message, no stack', async () => {
    for (const argv of [
      ['frobnicate'],
      ['get'],
      ['get', 'k', '--bogus'],
      ['set', 'k', '{bad json'],
      ['set', 'k'],
      ['get', '-s', 'a//b', 'k'],
      ['list', '--limit', '0'],
      ['get', '-s', 'a/b/c/d/e/f/g/h/i', 'k'],
    ]) {
      const result = await run(...argv)
      expect(result.code, argv.join(' ')).toBe(EXIT.USAGE)
      expect(result.stderr, argv.join(' ')).toMatch(/^cubby: /)
      expect(result.stderr).not.toMatch(/\n\s+at /)
    }
  })

  it('a bad URL is a usage error naming the field', async () => {
    const result = await cli(['--url', 'nope://x', 'get', 'k'])
    expect(result.code).toBe(EXIT.USAGE)
    expect(result.stderr).toMatch(/^cubby: INVALID_CONFIG: url: unknown scheme/)
  })

  it('--help on every command exits 0', async () => {
    for (const command of ['get', 'set', 'delete', 'list', 'scopes', 'usage', 'watch', 'export', 'import', 'migrate']) {
      const result = await cli([command, '--help'])
      expect(result.code, command).toBe(0)
      expect(result.stdout, command).toContain(`Usage: cubby ${command}`)
    }
    expect((await cli(['--help'])).stdout).toContain('Exit codes')
  })

  it('--option passes backend options; an unknown one is a usage error naming it', async () => {
    expect((await cli(['--url', 'memory:', '--option', 'sweepIntervalMs=1000', 'get', 'k'])).code).toBe(EXIT.NOT_FOUND)
    const bad = await cli(['--url', 'memory:', '--option', 'bogus=1', 'get', 'k'])
    expect(bad.code).toBe(EXIT.USAGE)
    expect(bad.stderr).toMatch(/^cubby: INVALID_CONFIG: bogus: /)
    expect((await cli(['--url', 'memory:', '--option', 'novalue', 'get', 'k'])).code).toBe(EXIT.USAGE)
  })

  it('reads CUBBY_URL', async () => {
    const result = await cli(['get', 'k'], { env: { CUBBY_URL: 'memory:main' }, connect: memory.connect })
    expect(result.code).toBe(EXIT.NOT_FOUND)
  })
})

describe('a sqlite: file that does not exist', () => {
  it('is refused by every command that reads (exit 1, NO_SUCH_STORE), and is not created', async () => {
    const file = join(dir, 'typo', 'cubby.db')
    const url = `sqlite:${file}`
    const target = `sqlite:${join(dir, 'target.db')}`
    for (const argv of [
      ['--url', url, 'get', 'k'],
      ['--url', url, 'list'],
      ['--url', url, 'scopes'],
      ['--url', url, 'usage'],
      ['--url', url, 'delete', 'k'],
      ['--url', url, 'watch'],
      ['--url', url, 'export'],
      ['--url', url, 'export', '--out', join(dir, 'backup.jsonl')],
      ['migrate', '--from', url, '--to', target],
    ]) {
      const result = await cli(argv)
      expect(result.code, argv.join(' ')).toBe(EXIT.ERROR)
      expect(result.stderr, argv.join(' ')).toBe(
        `cubby: NO_SUCH_STORE: sqlite file ${file} does not exist (check --url / CUBBY_URL; only set, import and a migrate target create a store)\n`,
      )
    }
    expect(existsSync(join(dir, 'typo'))).toBe(false)
    expect(existsSync(join(dir, 'target.db'))).toBe(false)
    expect(existsSync(join(dir, 'backup.jsonl'))).toBe(false)
  })

  it('is created by set, import and a migrate target', async () => {
    const made = `sqlite:${join(dir, 'made.db')}`
    expect((await cli(['--url', made, 'set', 'k', '1'])).code).toBe(0)
    const exported = await cli(['--url', made, 'export'])
    expect(exported.code).toBe(0)
    const imported = `sqlite:${join(dir, 'imported.db')}`
    expect((await cli(['--url', imported, 'import', '-'], { stdin: exported.stdout })).code).toBe(0)
    const migrated = `sqlite:${join(dir, 'migrated.db')}`
    expect((await cli(['migrate', '--from', made, '--to', migrated])).code).toBe(0)
    for (const url of [imported, migrated]) expect((await cli(['--url', url, 'get', 'k'])).stdout).toBe('1\n')
  })

  it('import checks its input file before it opens (and creates) the store', async () => {
    const url = `sqlite:${join(dir, 'never.db')}`
    const result = await cli(['--url', url, 'import', join(dir, 'nope.jsonl')])
    expect(result.code).toBe(EXIT.ERROR)
    expect(result.stderr).toMatch(/^cubby: ENOENT: no such file or directory/)
    expect(result.stderr).not.toContain('ENOENT: ENOENT')
    expect(existsSync(join(dir, 'never.db'))).toBe(false)
  })
})

describe('--option values', () => {
  it('a value read as JSON that a backend refuses gets a hint on how to pass it as text', async () => {
    const result = await cli(['--url', 'redis://127.0.0.1:1', '--option', 'prefix=2024', 'get', 'k'])
    expect(result.code).toBe(EXIT.USAGE)
    expect(result.stderr).toMatch(/^cubby: INVALID_CONFIG: prefix: /)
    expect(result.stderr).toContain(`for the text, write --option 'prefix="2024"'`)
  })

  it('limits={…} is a core option: import and migrate accept what a host with raised limits stored', async () => {
    const limits = { maxValueBytes: 8 * 1024 * 1024 }
    const option = `limits=${JSON.stringify(limits)}`
    const from = `sqlite:${join(dir, 'raised.db')}`
    const host = await connect(from, { backendOptions: { limits } })
    await host.cubby.scope('s').set('big', Buffer.alloc(5 * 1024 * 1024, 1))
    await host.close()
    const file = join(dir, 'big.jsonl')
    expect((await cli(['--url', from, 'export', '--out', file])).code).toBe(0)

    const url = `sqlite:${join(dir, 'limits.db')}`
    const refused = await cli(['--url', url, 'import', file])
    expect(refused.code).toBe(EXIT.ERROR)
    expect(refused.stderr).toMatch(/^cubby: VALUE_TOO_LARGE: .*line 2: .*over the limit of 4194304 bytes/)
    expect(refused.stderr).toContain(`--option 'limits=`)
    const accepted = await cli(['--url', url, '--option', option, 'import', file])
    expect(accepted).toMatchObject({ code: 0, stdout: 'imported 1 entries into []\n' })

    const to = `sqlite:${join(dir, 'limits-copy.db')}`
    expect((await cli(['migrate', '--from', from, '--to', to])).stderr).toMatch(/VALUE_TOO_LARGE/)
    const migrated = await cli(['--option', option, 'migrate', '--from', from, '--to', to, '--overwrite'])
    expect(migrated.code, migrated.stderr).toBe(0)
    const copy = await connect(to, { backendOptions: { limits } })
    expect(((await copy.cubby.scope('s').get('big')) as Uint8Array).byteLength).toBe(5 * 1024 * 1024)
    await copy.close()
  })
})
