import { randomBytes } from 'node:crypto'
import { type Cubby, type CubbyOptions, openCubby } from '@cubby/core'
import {
  type CubbyServerOptions,
  createCubbyServer,
  Keyring,
  mintToken,
  type Permission,
  type TokenClaims,
} from '@cubby/server'
import { onTestFinished } from 'vitest'

/** A keyring with a fresh random key. */
export function testKeyring(kid = 'k1'): Keyring {
  return new Keyring({ keys: [{ kid, secret: randomBytes(32) }] })
}

/** A server on `store` listening on a free loopback port, closed after the test. */
export async function startServer(store: Cubby, options: Partial<CubbyServerOptions> = {}) {
  const keys = options.keys instanceof Keyring ? options.keys : testKeyring()
  const server = createCubbyServer({ cubby: store, allowRoot: true, ...options, keys })
  const address = await server.listen(0)
  const url = `cubby+ws://127.0.0.1:${address.port}`
  onTestFinished(() => server.close())
  return {
    server,
    url,
    keys,
    port: address.port,
    token: (claims: Partial<TokenClaims> & { root?: true; access?: Permission[] } = {}) =>
      mintToken(
        claims.root
          ? { root: true, access: claims.access ?? ['read', 'write', 'watch'], expiresIn: '1h' }
          : { plugin: 'p', access: ['read', 'write', 'watch'], expiresIn: '1h', ...claims },
        keys,
      ),
  }
}

/** Opens a remote cubby, closed after the test. */
export async function openRemote(url: string, token: string, options: Partial<CubbyOptions> = {}): Promise<Cubby> {
  const cubby = await openCubby({ url, token, timeoutMs: 5000, ...options })
  onTestFinished(() => cubby.close())
  return cubby
}

/** Reads `watch` into `seen` until the event for `lastKey`; `done` resolves then. */
export function collectUntil(watch: AsyncIterable<{ key: string }>, lastKey: string) {
  const seen: string[] = []
  const done = (async () => {
    for await (const event of watch) {
      seen.push(event.key)
      if (event.key === lastKey) break
    }
  })()
  return { seen, done }
}

/** Reads `watch` to its end: resolves to the error it ended with, or undefined when it ended without one. */
export async function endOf(watch: AsyncIterable<unknown>): Promise<(Error & { code?: string }) | undefined> {
  try {
    for await (const _ of watch) {
      // events are not what the caller waits for
    }
    return undefined
  } catch (error) {
    return error as Error & { code?: string }
  }
}
