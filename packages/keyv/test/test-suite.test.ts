// @keyv/test-suite (the version for keyv 5) against KeyvCubby on memory, SQLite and Redis: every store suite it
// exports (api, values, namespace, iterator), nothing skipped. It lives in .extras (it builds `sqlite3`), installed
// by `npm test` through scripts/ensure-extras.mjs.
import type { Cubby } from '@cubby/core'
import { KeyvCubby } from '@cubby/keyv'
import Keyv from 'keyv'
import { afterEach, beforeAll, beforeEach, describe, it } from 'vitest'
import { importExtra } from '../../../scripts/extras.mjs'
import { useBackends } from './support/backends.js'

const suite = await importExtra('@keyv/test-suite')
const runner = { it, beforeEach, afterEach, describe }

describe.each(useBackends())('@keyv/test-suite on $name', (backend) => {
  let cubby: Cubby
  beforeAll(async () => {
    cubby = await backend.open()
  })
  // A fresh adapter per call (keyv sets `store.namespace`), all over the same scope.
  const store = () => new KeyvCubby(cubby.scope('app', 'keyv'))

  describe('api', () => suite.keyvApiTests(runner, Keyv, store))
  describe('values', () => suite.keyvValueTests(runner, Keyv, store))
  describe('namespace', () => suite.keyvNamespaceTest(runner, Keyv, store))
  describe('iterator', () => suite.keyvIteratorTests(runner, Keyv, store))
})
