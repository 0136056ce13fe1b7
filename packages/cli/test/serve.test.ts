import { randomBytes } from 'node:crypto'
import { PassThrough } from 'node:stream'
import { run } from '@cubby/cli'
import { waitFor } from '@cubby/conformance'
import { openCubby } from '@cubby/core'
import { mintToken } from '@cubby/server'
import { describe, expect, it } from 'vitest'

describe('cubby serve', () => {
  it('serves a store to a remote client until interrupted', async () => {
    const secret = randomBytes(32).toString('hex')
    const stdout = new PassThrough()
    let out = ''
    stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
    })
    const abort = new AbortController()
    const exit = run(['serve', '--url', 'memory:', '--port', '0'], {
      stdout,
      stderr: new PassThrough(),
      env: { CUBBY_SERVER_SECRET: secret },
      signal: abort.signal,
    })
    await waitFor(() => out.includes('serving'), 'the server to listen')
    const url = /serving (\S+)/.exec(out)![1]!
    const token = await mintToken(
      { plugin: 'p', access: ['read', 'write'], expiresIn: '1m' },
      { kid: 'k1', secret: Buffer.from(secret, 'hex') },
    )
    const cubby = await openCubby({ url, token })
    const { store } = cubby.stores({ plugin: 'p' })
    await store.set('k', 1)
    expect(await store.get('k')).toBe(1)
    await cubby.close()
    abort.abort()
    expect(await exit).toBe(0)
  })

  it('refuses to start without keys', async () => {
    const stderr = new PassThrough()
    let err = ''
    stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString()
    })
    const code = await run(['serve', '--url', 'memory:'], { stdout: new PassThrough(), stderr, env: {} })
    expect(code).not.toBe(0)
    expect(err).toContain('CUBBY_SERVER_SECRET')
  })
})
