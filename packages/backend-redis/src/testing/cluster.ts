import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { createClient } from 'redis'
import { freePort, killProcess, requireRedis, spawnRedis, waitForPing } from './server.js'

const run = promisify(execFile)

/** A local Redis Cluster of 3 masters and 3 replicas on free loopback ports. */
export interface TestCluster {
  url: string
  ports: number[]
  stop(): Promise<void>
}

/** Starts six nodes, joins them with `redis-cli --cluster create`, and waits until every node says the cluster is ok. */
export async function startCluster(): Promise<TestCluster> {
  requireRedis()
  const dir = mkdtempSync(join(tmpdir(), 'cubby-cluster-'))
  const ports: number[] = []
  while (ports.length < 6) {
    const port = await freePort()
    if (!ports.includes(port) && port < 55_000) ports.push(port) // the cluster bus uses port + 10000
  }
  const children = ports.map((port) => {
    const nodeDir = join(dir, String(port))
    mkdirSync(nodeDir)
    return spawnRedis(port, nodeDir, [
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      'nodes.conf',
      '--cluster-node-timeout',
      '5000',
    ])
  })
  const stop = async () => {
    await Promise.all(children.map((child) => killProcess(child)))
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await Promise.all(ports.map((port) => waitForPing(port)))
    await run(
      'redis-cli',
      ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes'],
      {
        timeout: 60_000,
      },
    )
    const deadline = Date.now() + 60_000
    for (const port of ports) {
      for (;;) {
        const client = createClient({ url: `redis://127.0.0.1:${port}` })
        client.on('error', () => {})
        await client.connect()
        const info = await client.sendCommand(['CLUSTER', 'INFO'])
        await client.close()
        if (String(info).includes('cluster_state:ok')) break
        if (Date.now() > deadline) throw new Error(`cluster node ${port} did not reach cluster_state:ok`)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
  } catch (error) {
    await stop()
    throw error
  }
  return {
    url: `redis+cluster://${ports
      .slice(0, 3)
      .map((p) => `127.0.0.1:${p}`)
      .join(',')}`,
    ports,
    stop,
  }
}
