import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startRedis, type TestRedis } from '@cubby/backend-redis/testing'
import { type Cubby, type CubbyOptions, openCubby } from '@cubby/core'
import { afterAll, beforeAll } from 'vitest'

/** A backend the interop tests run on. */
export interface TestBackend {
  name: 'memory' | 'sqlite' | 'redis'
  /** Opens a fresh cubby on this backend (an empty store for memory, a new file for SQLite, a new DB prefix for Redis). */
  open(options?: Omit<CubbyOptions, 'url'>): Promise<Cubby>
}

/**
 * Registers hooks that start what the three backends need (a temp directory, a redis-server on a free loopback
 * port) for the current file, and stop them after; returns the backends.
 */
export function useBackends(): TestBackend[] {
  let dir = ''
  let redis: TestRedis | undefined
  let files = 0
  let prefixes = 0
  const opened: Cubby[] = []
  const track = async (cubby: Promise<Cubby>) => {
    const c = await cubby
    opened.push(c)
    return c
  }
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cubby-interop-'))
    redis = await startRedis()
  })
  afterAll(async () => {
    await Promise.all(opened.map((c) => c.close()))
    await redis?.stop()
    rmSync(dir, { recursive: true, force: true })
  })
  return [
    { name: 'memory', open: (options = {}) => track(openCubby({ ...options, url: 'memory:' })) },
    {
      name: 'sqlite',
      open: (options = {}) => track(openCubby({ ...options, url: `sqlite:${join(dir, `db-${files++}.sqlite`)}` })),
    },
    {
      name: 'redis',
      open: (options = {}) => {
        if (!redis) throw new Error('redis-server is not running (beforeAll failed)')
        return track(openCubby({ ...options, url: redis.url, prefix: `t${prefixes++}` }))
      },
    },
  ]
}
