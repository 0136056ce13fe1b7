import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url))

/** Runs the built `cubby` in a child process. */
function cubby(args: string[], options: { env?: Record<string, string>; stdin?: string; cwd?: string } = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? '', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => {
      stdout += chunk
    })
    child.stderr.on('data', (chunk) => {
      stderr += chunk
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
    child.stdin.end(options.stdin ?? '')
  })
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

let dir: string
beforeAll(async () => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npx turbo run build\` first`)
  dir = await mkdtemp(join(tmpdir(), 'cubby-bin-'))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

describe('the built cubby binary', () => {
  it('prints help and its version', async () => {
    const help = await cubby(['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('Usage: cubby')
    expect((await cubby(['--version'])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/)
  })

  it('sets, gets, exports and imports through pipes, on the SQLite default under ./data', async () => {
    const set = await cubby(['set', '-s', 'a/b', 'k', '{"n":1}'], { cwd: dir })
    expect(set.code, set.stderr).toBe(0)
    expect(existsSync(join(dir, 'data', 'cubby.db'))).toBe(true)
    expect((await cubby(['get', '-s', 'a/b', 'k'], { cwd: dir })).stdout).toBe('{\n  "n": 1\n}\n')
    const exported = await cubby(['export'], { cwd: dir })
    expect(exported.code).toBe(0)
    const other = `sqlite:${join(dir, 'other.db')}`
    const imported = await cubby(['import', '-'], { cwd: dir, stdin: exported.stdout, env: { CUBBY_URL: other } })
    expect(imported).toMatchObject({ code: 0, stdout: 'imported 1 entries into []\n' })
    expect((await cubby(['--url', other, 'get', '-s', 'a/b', 'k'])).code).toBe(0)
  })

  it('exit codes: 3 not found, 2 usage, 1 backend down; one line, no stack trace', async () => {
    const missing = await cubby(['get', 'nope'], { cwd: dir })
    expect(missing).toMatchObject({ code: 3, stderr: 'cubby: NOT_FOUND: no key "nope" in scope []\n' })
    const usage = await cubby(['list', '--bogus'], { cwd: dir })
    expect(usage.code).toBe(2)
    expect(usage.stderr).toMatch(/^cubby: USAGE: unknown option '--bogus'/)
    const url = `redis://127.0.0.1:${await closedPort()}`
    const down = await cubby(['--url', url, '--option', 'connectTimeoutMs=300', 'get', 'k'])
    expect(down.code).toBe(1)
    expect(down.stderr).toMatch(/^cubby: BACKEND: cannot connect to Redis/)
    for (const result of [missing, usage, down]) expect(result.stderr).not.toMatch(/\n\s+at /)
  })
})
