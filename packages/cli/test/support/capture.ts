import { openCubby } from '@cubby/core'
import { type Backend, type BackendFactory, loadFactory, schemeOf } from '@cubby/core/backend'
import type { Connection } from '../../src/index.js'

/** A connection opened by a test, with the backend under its cubby, to check stored state or wrap it. */
export type TestConnection = Connection & { readonly backend: Backend }

/** Opens `url` like the CLI's `connect`, keeping a handle on the backend it creates (test code only). */
export async function openCapturing(url: string): Promise<TestConnection> {
  const factory = await loadFactory(schemeOf(url))
  let backend: Backend | undefined
  const capture: BackendFactory = async (init) => {
    backend = await factory(init)
    return backend
  }
  const cubby = await openCubby({ url, backend: capture })
  return { url, cubby, backend: backend!, close: () => cubby.close() }
}

/** A connection whose cubby runs over `backend` (a test's wrapper of a real one); closing it leaves `backend` open. */
export async function over(backend: Backend, url = 'memory:'): Promise<Connection> {
  const cubby = await openCubby({ backend })
  return { url, cubby, close: () => cubby.close() }
}
