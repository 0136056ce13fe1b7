import { randomBytes } from 'node:crypto'
import { createBackend } from '@cubby/backend-remote'
import type { Backdoor, ConformanceHandle } from '@cubby/conformance'
import { type Backend, openCubby } from '@cubby/core'
import { createCubbyServer, Keyring, mintToken } from '@cubby/server'

/**
 * Server limits wide enough that the client's own limits (set by each conformance test) are the ones that bind:
 * the suite checks the client, and the server's limits are its configuration.
 */
const WIDE = { maxKeyBytes: 65_536, maxValueBytes: 32 << 20, maxBatchSize: 1_000_000, maxPageSize: 1_000_000 }

/** A conformance handle: a server on `backend` (root tokens allowed) and remote clients of it. */
export async function remoteHandle(
  backend: Backend,
  clock: () => number,
  backdoor: Backdoor,
  cleanup?: () => Promise<void>,
): Promise<ConformanceHandle> {
  const local = await openCubby({ backend, clock, limits: WIDE })
  const keys = new Keyring({ keys: [{ kid: 'test', secret: randomBytes(32) }] })
  const server = createCubbyServer({
    cubby: local,
    keys,
    allowRoot: true,
    maxFrameBytes: 64 << 20,
    verifyValues: false,
  })
  const { port } = await server.listen(0)
  const token = await mintToken({ root: true, access: ['read', 'write', 'watch'], expiresIn: '1h' }, keys)
  const client = () =>
    createBackend({ url: `cubby+ws://127.0.0.1:${port}`, options: { token }, clock, timeoutMs: 10_000 })
  return {
    backend: await client(),
    peer: client,
    backdoor,
    cleanup: async () => {
      await server.close()
      await local.close()
      await cleanup?.()
    },
  }
}
