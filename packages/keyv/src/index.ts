/**
 * `@cubby/keyv`: a keyv 5 store adapter over a Cubby scope. `new Keyv({ store: new KeyvCubby(scope) })`.
 */
export { ITERABLE_URL, KeyvCubby, type KeyvCubbyOptions, type KeyvEntry } from './adapter.js'
