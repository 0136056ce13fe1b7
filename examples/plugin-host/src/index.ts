/** The example plugin host as a library: `createHost` and the sample plugins, for tests and embedding. */
export { errorReply } from './http-errors.js'
export type { Handler, Plugin, PluginRequest, Reply, ServerEvent } from './plugin.js'
export { badRequest, HttpError, notFound } from './plugin.js'
export { cache, counter, feed, files, samplePlugins, todos } from './plugins/index.js'
export { createHost, type Host, type HostOptions } from './server.js'
