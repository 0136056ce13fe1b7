import type { AddressInfo } from 'node:net'
import { openCubby } from '@cubby/core'
import { describe, expect, it, onTestFinished } from 'vitest'
import { outOfProcess, startPluginServer } from '../src/remote/out-of-process.js'
import { createHost } from '../src/server.js'

/** The worker runs built code (dist), like any child process in these tests. */
const dist = (path: string) => new URL(`../dist/${path}`, import.meta.url)

describe('an out-of-process plugin', () => {
  it('runs the counter plugin in a worker thread with a per-request token, storing in its own scope', async () => {
    const cubby = await openCubby('memory:')
    const pluginServer = await startPluginServer(cubby)
    const remote = outOfProcess({
      id: 'remote-counter',
      description: 'the counter plugin, run out of process',
      routes: ['GET /:name', 'POST /:name/incr', 'DELETE /:name'],
      module: dist('plugins/counter.js'),
      exportName: 'counter',
      worker: dist('remote/worker.js'),
      server: pluginServer,
    })
    const host = createHost({ cubby, plugins: [remote] })
    await new Promise<void>((resolve) => host.server.listen(0, '127.0.0.1', resolve))
    onTestFinished(async () => {
      await host.close()
      await remote.close()
      await pluginServer.server.close()
      await cubby.close()
    })
    const base = `http://127.0.0.1:${(host.server.address() as AddressInfo).port}/remote-counter`
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${base}/hits/incr`, { method: 'POST', headers: { 'x-user': 'alice' } })
      expect(res.status).toBe(200)
    }
    expect(await (await fetch(`${base}/hits`)).json()).toEqual({ name: 'hits', value: 3 })
    // Stored in the plugin's own scope of the host's cubby, nowhere else.
    expect(await cubby.stores({ plugin: 'remote-counter' }).store.get('hits')).toBe(3)
    expect(await cubby.stores({ plugin: 'counter' }).store.get('hits')).toBeUndefined()
  })
})
