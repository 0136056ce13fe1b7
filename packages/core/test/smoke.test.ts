import { CubbyError, openCubby } from '@cubby/core'
import { describe, expect, it } from 'vitest'

it('opens memory: through the registry, sharing one copy of core', async () => {
  const cubby = await openCubby('memory:')
  await cubby.scope('a').set('k', 'text')
  const error = await cubby
    .scope('a')
    .incr('k')
    .catch((e: unknown) => e)
  expect(error).toBeInstanceOf(CubbyError)
  await cubby.close()
})

describe('the public surface', () => {
  it('exports no internal helpers (asCubbyError is core-internal)', async () => {
    const core = await import('../src/index.js')
    expect(Object.keys(core)).not.toContain('asCubbyError')
  })
})
