import { runConformance } from '@cubby/conformance'
import { afterAll } from 'vitest'
import { startRedis } from '../src/testing/index.js'
import { conformanceTarget } from './support/target.js'

const server = await startRedis()
afterAll(() => server.stop())

// The scripts check here that every key they touch is declared in KEYS (the cluster runs them unchecked).
await runConformance(conformanceTarget('redis (standalone)', server.url, true))
