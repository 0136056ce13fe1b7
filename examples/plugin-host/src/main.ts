#!/usr/bin/env node
/**
 * Starts the example plugin host: opens Cubby (`CUBBY_URL`, else SQLite at ./data/cubby.db), serves the sample
 * plugins on HOST:PORT (default 127.0.0.1:3000), prints the URL and a few curl lines, and shuts down cleanly on
 * SIGINT / SIGTERM.
 */
import type { AddressInfo } from 'node:net'
import { type Cubby, CubbyError, DEFAULT_URL, openCubby } from '@cubby/core'
import { banner } from './banner.js'
import { samplePlugins } from './plugins/index.js'
import { outOfProcess, startPluginServer } from './remote/out-of-process.js'
import { createHost } from './server.js'

const MiB = 1024 * 1024
const port = Number(process.env.PORT ?? 3000)
const hostname = process.env.HOST || '127.0.0.1'
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be a port number, got ${JSON.stringify(process.env.PORT)}`)
  process.exit(2)
}

const url = process.env.CUBBY_URL || DEFAULT_URL
const shownUrl = url.replace(/:[^:@/]*@/, ':***@')
let cubby: Cubby
try {
  cubby = await openCubby({
    url,
    // Caps that keep one plugin or one user from filling the disk: over them, writes answer 413.
    quotas: { plugin: { maxBytes: 512 * MiB }, user: { maxBytes: 16 * MiB } },
  })
} catch (error) {
  // One line, like the CLI: a bad CUBBY_URL or a store that is down is not a crash.
  const code = error instanceof CubbyError ? `${error.code}: ` : ''
  console.error(`cannot open the store ${shownUrl}: ${code}${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
}
// One sample plugin runs out of process: the counter, in a worker thread, through @cubby/server with a token per request.
const pluginServer = await startPluginServer(cubby)
const remoteCounter = outOfProcess({
  id: 'remote-counter',
  description: 'the counter plugin, run in a worker thread through @cubby/server (a token per request)',
  routes: Object.keys(samplePlugins.find((plugin) => plugin.id === 'counter')!.routes),
  module: new URL('./plugins/counter.js', import.meta.url),
  exportName: 'counter',
  server: pluginServer,
})
const host = createHost({
  cubby,
  plugins: [...samplePlugins, remoteCounter],
  adminToken: process.env.ADMIN_TOKEN || undefined,
})

host.server.on('error', async (error) => {
  console.error(`cannot listen on ${hostname}:${port}: ${error.message}`)
  await cubby.close()
  process.exit(1)
})
host.server.listen(port, hostname, () => {
  const address = host.server.address() as AddressInfo
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address
  console.log(banner(`http://${shown}:${address.port}`, cubby.backend.name, shownUrl))
})

let stopping = false
async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (stopping) process.exit(1) // a second Ctrl-C: stop waiting
  stopping = true
  console.log(`\n${signal}: closing connections and the store...`)
  const timer = setTimeout(() => {
    console.error('shutdown took over 10 s; exiting')
    process.exit(1)
  }, 10_000)
  timer.unref()
  try {
    await host.close()
    await remoteCounter.close()
    await pluginServer.server.close()
    await cubby.close()
    console.log('stopped')
  } catch (error) {
    console.error('error while stopping:', error)
    process.exitCode = 1
  }
}
process.on('SIGINT', shutdown)
process.on('SIGTERM', shutdown)
