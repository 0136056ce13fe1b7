import type { Plugin } from '../plugin.js'
import { cache } from './cache.js'
import { counter } from './counter.js'
import { feed } from './feed.js'
import { files } from './files.js'
import { todos } from './todos.js'

export { cache, counter, feed, files, todos }

/** The sample plugins, in the order the index page lists them. */
export const samplePlugins: readonly Plugin[] = [todos, counter, files, cache, feed]
