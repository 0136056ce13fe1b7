import { runConformance } from '@cubby/conformance'
import { afterAll } from 'vitest'
import { startCluster } from '../src/testing/index.js'
import { conformanceTarget } from './support/target.js'

const cluster = await startCluster()
afterAll(() => cluster.stop())

await runConformance(conformanceTarget('redis (3-master cluster)', cluster.url))
