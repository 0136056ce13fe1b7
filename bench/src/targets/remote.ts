import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { openCubby } from '@cubby/core'
import { storeTarget } from './cubby.js'
import type { Target } from './target.js'

/**
 * The server process: `@cubby/server` on an in-memory cubby, loopback, free port; prints "ready PORT". Frames up to
 * 256 MiB, so the set-many workload's single batch (n values) fits in one request.
 */
const SERVER = `
import { openCubby } from '@cubby/core'
import { createCubbyServer } from '@cubby/server'
const cubby = await openCubby('memory:')
const server = createCubbyServer({ cubby, keys: { keys: [{ kid: 'b', secret: Buffer.from(process.env.SECRET, 'hex') }] }, maxFrameBytes: 256 << 20 })
const { port } = await server.listen(0)
process.stdout.write('ready ' + port + '\\n')
`

/** A running server for the remote family; `stop()` ends its process. */
export interface RemoteServer {
  url: string
  token: string
  stop(): Promise<void>
}

/**
 * Starts `@cubby/server` in its own process (so client and server do not share an event loop, as in a real
 * out-of-process plugin) and mints a token for the plugin context `bench/remote`.
 */
export async function startRemoteServer(): Promise<RemoteServer> {
  const secret = randomBytes(32)
  const child: ChildProcess = spawn(process.execPath, ['--input-type=module', '-e', SERVER], {
    cwd: new URL('..', import.meta.url).pathname,
    env: { ...process.env, SECRET: secret.toString('hex') },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const port = await new Promise<number>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const match = /ready (\d+)/.exec(out)
      if (match) resolve(Number(match[1]))
    })
    child.once('exit', (code) => reject(new Error(`the remote bench server exited with ${code}`)))
  })
  const { mintToken } = await import('@cubby/server')
  const token = await mintToken(
    { workspace: 'bench', plugin: 'remote', access: ['read', 'write'], expiresIn: '2h' },
    { kid: 'b', secret },
  )
  return {
    url: `cubby+ws://127.0.0.1:${port}`,
    token,
    stop: async () => {
      child.kill()
      await new Promise((resolve) => child.once('exit', resolve))
    },
  }
}

/** Cubby through `@cubby/backend-remote`: the plugin's store of the token's context, over loopback. */
export async function remoteTarget(server: RemoteServer): Promise<Target> {
  const cubby = await openCubby({ url: server.url, token: server.token })
  return storeTarget(cubby, cubby.stores({ workspace: 'bench', plugin: 'remote' }).store)
}
