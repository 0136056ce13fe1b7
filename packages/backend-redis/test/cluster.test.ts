import { type ChangeEvent, openCubby } from '@cubby/core'
import { afterAll, describe, expect, it } from 'vitest'
import { startCluster } from '../src/testing/index.js'
import { masters, moveSlot, replicated } from './support/cluster.js'
import { ending, outcome, waitFor } from './support/wait.js'

// One password-protected cluster for these tests, with a short node timeout so that a failover takes seconds.
const cluster = await startCluster({ password: 'p4ss', nodeTimeoutMs: 2000, syncReplicas: true })
afterAll(() => cluster.stop())

const onMaster = async (key: string, args: string[]) => cluster.command(await cluster.masterOf(key), args)

describe('Redis Cluster', () => {
  it('uses the credentials of a redis+cluster:// URL for every node, the discovered ones included', async () => {
    const cubby = await openCubby({ url: cluster.url, prefix: 'auth' })
    const plugins = Array.from({ length: 12 }, (_, i) => cubby.scope('w', `p${i}`)) // spread over the masters
    await Promise.all(plugins.map((store, i) => store.set('k', i)))
    expect(await Promise.all(plugins.map((store) => store.get('k')))).toEqual(plugins.map((_, i) => i))
    const watch = plugins[5]!.watch()
    await watch.ready
    await plugins[5]!.set('seen', 1)
    expect((await watch[Symbol.asyncIterator]().next()).value).toMatchObject({ key: 'seen' })
    watch.close()
    expect((await cubby.scope('w').usage()).keys).toBe(13)
    await cubby.close()
    const wrong = await openCubby({ url: cluster.url.replace(':p4ss@', ':wrong@') }).catch((e: Error) => e)
    expect(wrong).toMatchObject({ code: 'BACKEND', message: expect.stringMatching(/credentials/) })
  })

  it('lists groups again after every master lost its data, so usage, scopes and drop above them still work', async () => {
    const cubby = await openCubby({ url: cluster.url, prefix: 'flushed' })
    const plugin = cubby.scope('acme', 'todo')
    await plugin.set('a', 1)
    for (const master of await masters(cluster)) await cluster.command(master.port, ['FLUSHALL'])
    await plugin.set('a', 2)
    expect(await cubby.scope('acme').usage()).toEqual({ keys: 1, bytes: 4 })
    expect(await cubby.scope('acme').scopes()).toEqual({ names: ['todo'] })
    expect(await cubby.scope().scopes()).toEqual({ names: ['acme'] })
    await cubby.scope('acme').drop()
    expect(await plugin.get('a')).toBeUndefined()
    await cubby.close()
  })

  it('prunes emptied plugins and workspaces from the child indexes above the group, and lists them again', async () => {
    const cubby = await openCubby({ url: cluster.url, prefix: 'prune' })
    const all = []
    for (let w = 0; w < 4; w++) for (let p = 0; p < 8; p++) all.push(cubby.scope(`w${w}`, `p${p}`))
    await Promise.all(all.map((store) => store.set('k', 1)))
    await Promise.all(all.slice(1).map((store) => store.drop()))
    expect(await cubby.scope().scopes()).toEqual({ names: ['w0'] })
    expect(await cubby.scope().usage()).toEqual({ keys: 1, bytes: 4 })
    expect(Number(await onMaster('prune:{/}:c:/', ['ZCARD', 'prune:{/}:c:/']))).toBe(1)
    expect(Number(await onMaster('prune:{/w0}:c:/w0', ['ZCARD', 'prune:{/w0}:c:/w0']))).toBe(1)
    await cubby.scope('w3', 'p5').set('back', 1) // a pruned group registers itself again
    expect(await cubby.scope().scopes()).toEqual({ names: ['w0', 'w3'] })
    expect(await cubby.scope('w3').scopes()).toEqual({ names: ['p5'] })
    await cubby.scope().drop()
    expect(await cubby.scope().usage()).toEqual({ keys: 0, bytes: 0 })
    await cubby.close()
  })

  it('lets one instance sweep the TTL entries another instance wrote, every time', async () => {
    const prefix = 'sweep2'
    const sweeping = await openCubby({ url: cluster.url, prefix, sweepIntervalMs: 50 })
    const writing = await openCubby({ url: cluster.url, prefix, sweepIntervalMs: 3_600_000 })
    const store = writing.scope('w', 'p')
    const index = `${prefix}:{/w/p}:i:/w/p`
    for (const key of ['k1', 'k2', 'k3']) {
      await store.set(key, 'v', { ttl: 30 })
      await waitFor(
        `the other instance to reclaim ${key}`,
        async () => Number(await onMaster(index, ['ZCARD', index])) === 0,
      )
      expect(Number(await onMaster(index, ['EXISTS', `${prefix}:{/w/p}:u:/w/p`]))).toBe(0)
    }
    await sweeping.close()
    await writing.close()
  })

  it('ends a watch with an error when its slot moves to another master; writes go on, a new watch works', async () => {
    const cubby = await openCubby({ url: cluster.url, prefix: 'move' })
    const store = cubby.scope('w', 'moving')
    await store.set('seed', 0)
    const watch = store.watch()
    await watch.ready
    const events: ChangeEvent[] = []
    const watched = ending(watch, events)
    const acknowledged: string[] = []
    let writing = true
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        if ((await outcome(store.set(`k${i}`, i))) === 'ok') acknowledged.push(`k${i}`)
        await new Promise((resolve) => setTimeout(resolve, 2))
      }
    })()
    await waitFor('some writes', () => acknowledged.length > 5)
    const { from, to } = await moveSlot(cluster, 'move:{/w/moving}:n')
    expect(from).not.toBe(to)
    // The watch must not go on as if nothing happened: it ends with an error. What it delivered before that is
    // exactly the first writes, in order, with no gap.
    expect(await watched).toBe('BACKEND')
    const delivered = events.map((e) => e.key)
    expect(delivered).toEqual(acknowledged.slice(0, delivered.length))
    await waitFor('writes on the new master', () => acknowledged.length > delivered.length + 5)
    writing = false
    await writer
    const again = store.watch()
    await again.ready
    await store.set('after', 1)
    expect((await again[Symbol.asyncIterator]().next()).value).toMatchObject({ key: 'after' })
    again.close()
    expect(await store.get(acknowledged.at(-1)!)).toBeDefined()
    await cubby.close()
  })

  it('recovers from a master failover without reopening; a watch across it ends with an error', async () => {
    await cluster.settled() // replicas in sync, or there is nothing to promote
    const cubby = await openCubby({ url: cluster.url, prefix: 'fail', timeoutMs: 2000 })
    const store = cubby.scope('w', 'fail')
    await store.set('k', 'before')
    const master = await cluster.masterOf('fail:{/w/fail}:n')
    await replicated(cluster, master)
    const watch = store.watch()
    await watch.ready
    const watched = ending(watch, [])
    await cluster.kill(master)
    const outcomes = new Set<string>()
    await waitFor(
      'a write after the failover',
      async () => {
        const result = await outcome(store.set('k2', 'after'))
        outcomes.add(result)
        return result === 'ok'
      },
      90_000,
    )
    expect([...outcomes].every((o) => o === 'ok' || o === 'BACKEND')).toBe(true)
    expect(await cluster.masterOf('fail:{/w/fail}:n')).not.toBe(master)
    expect(await store.get('k')).toBe('before')
    expect(await watched).toBe('BACKEND')
    const again = store.watch()
    await again.ready
    await store.set('k3', 1)
    expect((await again[Symbol.asyncIterator]().next()).value).toMatchObject({ key: 'k3' })
    again.close()
    await cubby.close()
  })
})
