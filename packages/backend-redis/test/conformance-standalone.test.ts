import { runConformance } from '@cubby/conformance'
import { afterAll } from 'vitest'
import { startRedis } from './support/redis-server.js'
import { conformanceTarget } from './support/target.js'

const server = await startRedis()
afterAll(() => server.stop())

await runConformance(conformanceTarget('redis (standalone)', server.url))
