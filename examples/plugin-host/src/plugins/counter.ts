import { store } from '@cubby/core'
import { badRequest, type Plugin } from '../plugin.js'
import { utf8Body } from '../request.js'

/**
 * Largest step one request may add: a plain bound on input, answered with a 400 that names it. (A counter that would
 * pass 2^53, where JS numbers stop being exact, is refused by core's `incr` itself.)
 */
const MAX_STEP = 1_000_000_000

/**
 * Named counters shared by every user: the ambient `store` and its atomic `incr`, so concurrent requests, even to
 * several host instances on one Redis, never lose an increment.
 */
export const counter: Plugin = {
  id: 'counter',
  description: 'shared counters (the ambient `store` + atomic `incr`)',
  routes: {
    'GET /:name': async ({ params }) => ({ json: { name: params.name, value: await store.get(params.name!, 0) } }),
    'POST /:name/incr': async (request) => {
      const by = await readBy(request.query.get('by'), request.body)
      return { json: { name: request.params.name, value: await store.incr(request.params.name!, by) } }
    },
    'DELETE /:name': async ({ params }) => ({ json: { deleted: await store.delete(params.name!) } }),
  },
}

/** A decimal integer as `?by=` takes it: `5`, `-5`; not `''`, `0x10`, `1e3` or ` 5` (which `Number()` would read). */
const DECIMAL = /^-?[0-9]{1,10}$/

/** `?by=N` (a decimal integer), else a JSON body `{"by": N}`, else 1. */
async function readBy(param: string | null, body: () => Promise<Buffer>): Promise<number> {
  let by: unknown = 1
  if (param !== null) by = DECIMAL.test(param) ? Number(param) : Number.NaN
  else {
    const text = utf8Body(await body()).trim()
    if (text !== '') {
      try {
        by = (JSON.parse(text) as { by?: unknown } | null)?.by ?? 1
      } catch {
        throw badRequest('the body must be JSON like {"by": 5}')
      }
    }
  }
  if (typeof by !== 'number' || !Number.isInteger(by) || Math.abs(by) > MAX_STEP) {
    throw badRequest(`"by" must be an integer between -${MAX_STEP} and ${MAX_STEP}`)
  }
  return by
}
