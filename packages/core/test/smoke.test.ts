import { CubbyError, openCubby } from '@cubby/core'
import { expect, it } from 'vitest'

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
