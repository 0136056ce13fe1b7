import { runConformance } from '@cubby/conformance'
import { afterAll } from 'vitest'
import { startRedis } from '../src/testing/index.js'
import { conformanceTarget } from './support/target.js'

const server = await startRedis()
afterAll(() => server.stop())

await runConformance(conformanceTarget('redis (standalone)', server.url))
