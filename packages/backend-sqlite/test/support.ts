import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll } from 'vitest'

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url))
const BUILT = fileURLToPath(new URL('../dist/index.js', import.meta.url))

/** A temp directory removed after the file's tests. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cubby-sqlite-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Starts a fixture script (which uses the built packages) with node. */
export function fixture(name: string, args: string[], options: { cwd?: string } = {}): ChildProcess {
  if (!existsSync(BUILT)) throw new Error('packages/backend-sqlite is not built: run `npm run build` (npm test does)')
  return spawn(process.execPath, [join(FIXTURES, name), ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...options })
}

/** Resolves with the exit code; rejects with stderr if the process fails. */
export function exited(child: ChildProcess): Promise<number | null> {
  let stderr = ''
  child.stderr?.on('data', (chunk) => {
    stderr += chunk
  })
  return new Promise((resolve, reject) => {
    child.once('exit', (code, signal) => {
      if (code === 0 || signal === 'SIGKILL') resolve(code)
      else reject(new Error(`fixture exited with ${code ?? signal}: ${stderr}`))
    })
  })
}

/** Calls `onLine` for each stdout line of a child. */
export function lines(child: ChildProcess, onLine: (line: string) => void): void {
  let buffered = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8')
    const parts = buffered.split('\n')
    buffered = parts.pop()!
    for (const line of parts) onLine(line)
  })
}
