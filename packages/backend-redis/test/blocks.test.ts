import type { WriteRequest } from '@cubby/core/backend'
import { afterAll, describe, expect, it } from 'vitest'
import { openTestBackend, startRedis } from '../src/testing/index.js'
import { rawClient } from './support/wait.js'

const server = await startRedis()
const raw = await rawClient(server.port)
afterAll(async () => {
  raw.destroy()
  await server.stop()
})

interface Block {
  base: string
  next: number
  end: number
}

/** The versions blocks a backend's writer holds, by group (white box: write-bulk.ts VersionBlocks). */
const blocksOf = (backend: unknown) =>
  (backend as { writer: { blocks: { blocks: Map<string, Block> } } }).writer.blocks.blocks

/** A bulk run: one request of small plain sets without TTL. */
const bulk = (keys: string[], value: string): WriteRequest => ({
  scope: ['w', 'p'],
  checks: [],
  ops: keys.map((key) => ({ type: 'set' as const, key, value: Buffer.from(value) })),
  quotas: [],
  now: Date.now(),
})

describe('granted version blocks', () => {
  it('the server refuses versions of a block used before, whoever sends them (it checks every use)', async () => {
    const prefix = 'replayed'
    const group = `${prefix}:{/w/p}:`
    const a = await openTestBackend(server.url, { prefix }, Date.now, 30_000)
    const b = await openTestBackend(server.url, { prefix }, Date.now, 30_000)
    try {
      const keys = ['x', 'y', 'z']
      const versions: string[] = []
      const write = async (backend: typeof a, value: string) => {
        const result = await backend.write(bulk(keys, value))
        if (!result.ok) throw new Error('refused')
        for (const [i, r] of result.results.entries()) versions.push(`${keys[i]}@${r.version}`)
      }
      await write(a, 'asks') // the server's versions, and a block for `a`
      const granted = blocksOf(a).get(group)
      expect(granted).toBeDefined()
      const fresh = { ...granted! }
      await write(a, 'uses') // from the block
      // `b` replays the versions `a` just used: the server must give its own instead.
      blocksOf(b).set(group, { ...fresh })
      await write(b, 'replays')
      // `b` takes the next unused versions first; then `a` sends those same versions: refused too.
      blocksOf(b).set(group, { ...blocksOf(a).get(group)! })
      await write(b, 'takes')
      await write(a, 'again')
      expect(versions.length - new Set(versions).size).toBe(0)
      const stored = await Promise.all(keys.map((key) => raw.get(`${group}e:/w/p:${key}`)))
      expect(stored.map((entry) => entry!.split('|')[0])).toEqual(versions.slice(-3).map((v) => v.split('@')[1]))
    } finally {
      await a.close()
      await b.close()
    }
  })
})
