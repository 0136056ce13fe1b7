import { type ChildProcess, execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort, killProcess, requireRedis, spawnRedis, withClient } from './process.js'

const run = promisify(execFile)

/** A local Redis Cluster of 3 masters and 3 replicas on free loopback ports. */
export interface TestCluster {
  /** `redis+cluster://[:password@]` + the first three nodes. */
  url: string
  ports: number[]
  password: string | undefined
  /** Runs a command on one node. */
  command(port: number, args: string[]): Promise<unknown>
  /** The port of the master that serves `key`'s slot, as the live nodes see it. */
  masterOf(key: string): Promise<number>
  /** Kills one node (SIGKILL). */
  kill(port: number): Promise<void>
  /** Starts a killed node again; it rejoins the cluster from its nodes.conf. */
  restart(port: number): Promise<void>
  /** Waits until every replica is in sync with its master (`master_link_status:up`) and the cluster is ok. */
  settled(): Promise<void>
  stop(): Promise<void>
}

/** Options of a test cluster. */
export interface TestClusterOptions {
  /** Every node requires this password (and replicas use it to reach their masters). @default none */
  password?: string
  /** `cluster-node-timeout`: how long a node may be unreachable before a failover. @default 5000 */
  nodeTimeoutMs?: number
  /** Also wait until the replicas are in sync (needed before killing a master). @default false */
  syncReplicas?: boolean
}

const poll = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Starts six nodes (each checked to be our own process, on a port whose bus port, +10000, is free too), joins them
 * with `redis-cli --cluster create`, and waits until every node says the cluster is ok and knows all six nodes.
 * On any failure everything started so far is stopped.
 */
export async function startCluster(options: TestClusterOptions = {}): Promise<TestCluster> {
  requireRedis()
  const { password, nodeTimeoutMs = 5000 } = options
  const dir = mkdtempSync(join(tmpdir(), 'cubby-cluster-'))
  const nodes = new Map<number, ChildProcess>()
  const args = ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf']
  args.push('--cluster-node-timeout', String(nodeTimeoutMs))
  const spawnNode = (port: number) => {
    const nodeDir = join(dir, String(port))
    mkdirSync(nodeDir, { recursive: true })
    return spawnRedis(port, nodeDir, args, password)
  }
  const command = (port: number, argv: string[]) => withClient(port, password, (client) => client.sendCommand(argv))
  const stop = async () => {
    await Promise.all([...nodes.values()].map((child) => killProcess(child)))
    rmSync(dir, { recursive: true, force: true })
  }
  const live = () => [...nodes.entries()].filter(([, c]) => c.exitCode === null && c.signalCode === null)
  const settled = async (syncReplicas: boolean) => {
    const deadline = Date.now() + 90_000
    for (const [port] of live()) {
      for (;;) {
        const info = String(await command(port, ['CLUSTER', 'INFO']).catch(() => ''))
        const replication = syncReplicas ? String(await command(port, ['INFO', 'replication']).catch(() => '')) : ''
        const ok = info.includes('cluster_state:ok') && /cluster_known_nodes:6\b/.test(info)
        const synced =
          !syncReplicas || replication.includes('role:master') || replication.includes('master_link_status:up')
        if (ok && synced) break
        if (Date.now() > deadline)
          throw new Error(`cluster node ${port} did not settle (cluster_state ok, replicas in sync)`)
        await poll(100)
      }
    }
  }
  try {
    while (nodes.size < 6) {
      const port = await freePort(10_000)
      if (nodes.has(port)) continue
      const child = await spawnNode(port)
      if (child) nodes.set(port, child)
    }
    const ports = [...nodes.keys()]
    const auth = password === undefined ? [] : ['-a', password, '--no-auth-warning']
    await run(
      'redis-cli',
      [
        ...auth,
        '--cluster',
        'create',
        ...ports.map((p) => `127.0.0.1:${p}`),
        '--cluster-replicas',
        '1',
        '--cluster-yes',
      ],
      { timeout: 60_000 },
    )
    await settled(options.syncReplicas ?? false)
  } catch (error) {
    await stop()
    throw error
  }
  const ports = [...nodes.keys()]
  const authority = password === undefined ? '' : `:${encodeURIComponent(password)}@`
  return {
    url: `redis+cluster://${authority}${ports
      .slice(0, 3)
      .map((p) => `127.0.0.1:${p}`)
      .join(',')}`,
    ports,
    password,
    command,
    masterOf: async (key) => {
      const [port] = live()[0]!
      const slot = Number(await command(port, ['CLUSTER', 'KEYSLOT', key]))
      const ranges = (await command(port, ['CLUSTER', 'SLOTS'])) as unknown as [number, number, [string, number]][]
      const range = ranges.find(([from, to]) => slot >= from && slot <= to)
      if (!range) throw new Error(`no node serves slot ${slot}`)
      return Number(range[2][1])
    },
    kill: async (port) => {
      const child = nodes.get(port)
      if (child) await killProcess(child)
    },
    restart: async (port) => {
      const child = await spawnNode(port)
      if (!child) throw new Error(`port ${port} was taken while the cluster node was down`)
      nodes.set(port, child)
    },
    settled: () => settled(true),
    stop,
  }
}
