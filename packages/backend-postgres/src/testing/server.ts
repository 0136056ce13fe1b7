import { execFile, execFileSync } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A PostgreSQL server started for tests (or the bench) in a temporary directory, on a free loopback port. */
export interface TestPostgres {
  /** The TCP port on 127.0.0.1. */
  readonly port: number
  /** `postgres://cubby@127.0.0.1:PORT/cubby`: the superuser `cubby` (trust auth) on the database `cubby`. */
  readonly url: string
  /** A URL for another database on the same server (`createDatabase` makes one). */
  urlFor(database: string): string
  /** Creates a database (`CREATE DATABASE`) and resolves to its URL. */
  createDatabase(name: string): Promise<string>
  /** Crashes the server: `pg_ctl stop -m immediate` (no checkpoint, recovery from WAL on the next start). */
  kill(): Promise<void>
  /** Starts it again on the same port and data directory (after `kill`). */
  start(): Promise<void>
  /** Stops it (fast shutdown, immediate if that does not finish) and removes its directory. */
  stop(): Promise<void>
}

/** Options of `startPostgres`. */
export interface TestPostgresOptions {
  /**
   * Turn fsync off: commits reach the OS but are not forced to disk. A killed server still loses nothing (the OS
   * keeps what was written); only a power cut would. Faster tests.
   * @default true
   */
  fast?: boolean
}

/** Bounds on the commands that manage the server. */
const COMMAND_TIMEOUT_MS = 60_000
const START_WAIT_S = 30

/** The folder holding initdb and pg_ctl: CUBBY_PG_BIN, or the newest Debian /usr/lib/postgresql/N/bin. */
export function postgresBin(): string {
  const configured = process.env.CUBBY_PG_BIN
  if (configured) return configured
  const root = '/usr/lib/postgresql'
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : []
  if (versions.length === 0) {
    throw new Error(
      'PostgreSQL is not installed: the PostgreSQL tests need initdb and pg_ctl (Debian: apt-get install postgresql, ' +
        'or `node scripts/ensure-postgres.mjs`; elsewhere set CUBBY_PG_BIN to the folder holding them)',
    )
  }
  return join(root, versions[0]!, 'bin')
}

/** PostgreSQL refuses to run as root: as root, commands run as the `postgres` user through runuser. */
const asRoot = process.getuid?.() === 0

function run(bin: string, command: string, args: string[]): Promise<string> {
  const file = join(bin, command)
  const [program, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args]
  return new Promise((resolve, reject) => {
    execFile(program, argv, { timeout: COMMAND_TIMEOUT_MS, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed: ${error.message}\n${stderr}`))
      else resolve(stdout)
    })
  })
}

/** A free TCP port on 127.0.0.1 (another process may take it first: starting retries on another). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

const running = new Set<string>()
let hooked = false

/** Servers must not outlive the test process: on exit, each still running gets SIGQUIT (immediate shutdown). */
function stopOnExit(data: string): void {
  running.add(data)
  if (hooked) return
  hooked = true
  process.once('exit', () => {
    for (const dir of running) {
      try {
        const pid = Number(readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n')[0])
        if (pid > 0) process.kill(pid, 'SIGQUIT')
      } catch {
        // not running
      }
    }
  })
}

/**
 * Starts a PostgreSQL server of its own: `initdb` into a temporary directory (owned by `postgres` when running as
 * root), `pg_ctl start` on a free loopback port with its unix socket in that directory, and a database `cubby`.
 */
export async function startPostgres(options: TestPostgresOptions = {}): Promise<TestPostgres> {
  const bin = postgresBin()
  const dir = mkdtempSync(join(tmpdir(), 'cubby-pg-'))
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString())
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString())
    chownSync(dir, uid, gid)
  }
  const data = join(dir, 'data')
  const log = join(dir, 'server.log')
  let port = 0
  const settings = () =>
    [
      `-p ${port}`,
      `-k ${dir}`,
      '-c listen_addresses=127.0.0.1',
      '-c max_connections=200',
      options.fast === false ? '' : '-c fsync=off -c full_page_writes=off',
    ].join(' ')
  const start = () =>
    run(bin, 'pg_ctl', ['start', '-D', data, '-l', log, '-w', '-t', String(START_WAIT_S), '-o', settings()])
  try {
    await run(bin, 'initdb', ['-D', data, '-U', 'cubby', '--auth=trust', '-E', 'UTF8', '--locale=C', '-N'])
    stopOnExit(data)
    for (let attempt = 0; ; attempt++) {
      port = await freePort()
      try {
        await start()
        break
      } catch (error) {
        if (attempt === 4) throw error // the port was taken between freePort and the bind, five times
      }
    }
    await run(bin, 'psql', [
      '-h',
      dir,
      '-p',
      String(port),
      '-U',
      'cubby',
      '-d',
      'postgres',
      '-qc',
      'CREATE DATABASE cubby',
    ])
  } catch (error) {
    await run(bin, 'pg_ctl', ['stop', '-D', data, '-m', 'immediate']).catch(() => {})
    running.delete(data)
    rmSync(dir, { recursive: true, force: true })
    const tail = existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : ''
    throw new Error(`${(error as Error).message}\n${tail}`, { cause: error })
  }
  const urlFor = (database: string) => `postgres://cubby@127.0.0.1:${port}/${database}`
  return {
    port,
    url: urlFor('cubby'),
    urlFor,
    createDatabase: async (name) => {
      await run(bin, 'psql', [
        '-h',
        dir,
        '-p',
        String(port),
        '-U',
        'cubby',
        '-d',
        'postgres',
        '-qc',
        `CREATE DATABASE "${name}"`,
      ])
      return urlFor(name)
    },
    kill: async () => {
      await run(bin, 'pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w', '-t', String(START_WAIT_S)])
    },
    start: async () => {
      await start()
    },
    stop: async () => {
      try {
        await run(bin, 'pg_ctl', ['stop', '-D', data, '-m', 'fast', '-w', '-t', String(START_WAIT_S)])
      } catch {
        await run(bin, 'pg_ctl', ['stop', '-D', data, '-m', 'immediate']).catch(() => {})
      }
      running.delete(data)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
