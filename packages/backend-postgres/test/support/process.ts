import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url))
const BUILT = fileURLToPath(new URL('../../dist/index.js', import.meta.url))

/** Starts a fixture script (which uses the built packages); `stdin: 'pipe'` keeps its stdin open. */
export function fixture(name: string, args: string[], options: { stdin?: 'pipe' } = {}): ChildProcess {
  if (!existsSync(BUILT)) {
    throw new Error(
      'packages/backend-postgres is not built: run `npx turbo run build --filter=@cubby/backend-postgres...` (npm test does)',
    )
  }
  return spawn(process.execPath, [join(FIXTURES, name), ...args], {
    stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
  })
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

/** Starts fixtures that print "ready", starts them together (a line on stdin), and resolves their JSON results. */
export async function runTogether<T>(runs: Array<[string, string[]]>): Promise<T[]> {
  const children = runs.map(([name, args]) => fixture(name, args, { stdin: 'pipe' }))
  const ready: Promise<void>[] = []
  const results: Promise<T>[] = []
  for (const child of children) {
    const done = exited(child)
    ready.push(
      new Promise((resolve, reject) => {
        lines(child, (line) => line === 'ready' && resolve())
        done.catch(reject)
      }),
    )
    results.push(
      new Promise((resolve, reject) => {
        lines(child, (line) => line.startsWith('{') && resolve(JSON.parse(line) as T))
        done.then(() => reject(new Error('the fixture ended without a result')), reject)
      }),
    )
  }
  await Promise.all(ready)
  for (const child of children) child.stdin?.write('go\n')
  return Promise.all(results)
}
