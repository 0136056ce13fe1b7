/**
 * `@cubby/unstorage`: an unstorage driver over a Cubby scope.
 * `createStorage({ driver: cubbyDriver({ scope: cubby.scope('app', 'files') }) })`.
 */
export { type CubbyDriver, type CubbyDriverOptions, cubbyDriver } from './driver.js'
export type { WatchErrorHandler } from './watch.js'
