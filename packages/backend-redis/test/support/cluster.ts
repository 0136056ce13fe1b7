import type { TestCluster } from '../../src/testing/index.js'

type Slots = [number, number, [string, number, string]][]

/** The masters of a test cluster: port and node id. */
export async function masters(cluster: TestCluster, via?: number): Promise<Array<{ port: number; id: string }>> {
  const port = via ?? cluster.ports[0]!
  const ranges = (await cluster.command(port, ['CLUSTER', 'SLOTS'])) as unknown as Slots
  const seen = new Map<number, string>()
  for (const range of ranges) seen.set(Number(range[2][1]), String(range[2][2]))
  return [...seen].map(([p, id]) => ({ port: p, id }))
}

/**
 * Reshards the slot of `key` to another master, the way `redis-cli --cluster reshard` does: IMPORTING on the
 * target, MIGRATING on the source, MIGRATE of every key, then SETSLOT NODE everywhere. Resolves to both ports.
 */
export async function moveSlot(cluster: TestCluster, key: string): Promise<{ from: number; to: number }> {
  const from = await cluster.masterOf(key)
  const slot = String(await cluster.command(from, ['CLUSTER', 'KEYSLOT', key]))
  const all = await masters(cluster, from)
  const source = all.find((m) => m.port === from)!
  const target = all.find((m) => m.port !== from)!
  await cluster.command(target.port, ['CLUSTER', 'SETSLOT', slot, 'IMPORTING', source.id])
  await cluster.command(from, ['CLUSTER', 'SETSLOT', slot, 'MIGRATING', target.id])
  const auth = cluster.password === undefined ? [] : ['AUTH', cluster.password]
  for (;;) {
    const keys = (await cluster.command(from, ['CLUSTER', 'GETKEYSINSLOT', slot, '100'])) as string[]
    if (keys.length === 0) break
    await cluster.command(from, [
      'MIGRATE',
      '127.0.0.1',
      String(target.port),
      '',
      '0',
      '5000',
      ...auth,
      'KEYS',
      ...keys,
    ])
  }
  for (const master of all) await cluster.command(master.port, ['CLUSTER', 'SETSLOT', slot, 'NODE', target.id])
  return { from, to: target.port }
}

/** Waits until the replica of the master on `port` has everything the master has written so far. */
export async function replicated(cluster: TestCluster, port: number): Promise<void> {
  const info = String(await cluster.command(port, ['INFO', 'replication']))
  const offset = Number(/master_repl_offset:(\d+)/.exec(info)?.[1])
  const deadline = Date.now() + 30_000
  for (;;) {
    const now = String(await cluster.command(port, ['INFO', 'replication']))
    const replica = /slave0:[^\r\n]*offset=(\d+)/.exec(now)
    if (replica && Number(replica[1]) >= offset) return
    if (Date.now() > deadline) throw new Error(`the replica of ${port} did not catch up`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
