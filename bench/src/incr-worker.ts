/**
 * A child process for the contended-incr benchmark: opens Cubby at `url`, reports ready, waits for "go", then runs
 * `count` increments of `key` with `lanes` in flight, and reports done.
 */
import { openCubby } from '@cubby/core'
import { withConcurrency } from './measure.js'

const [url, key, countText, lanesText] = process.argv.slice(2)
const cubby = await openCubby(url!)
const store = cubby.scope('bench', 'incr')
const count = Number(countText)
process.send?.('ready')
process.once('message', async () => {
  await withConcurrency(Array.from({ length: count }), Number(lanesText), () => store.incr(key!))
  await cubby.close()
  process.send?.('done', () => process.exit(0))
})
