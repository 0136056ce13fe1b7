import { store } from '@cubby/core'
import { badRequest, type Plugin, type ServerEvent } from '../plugin.js'
import { pageLimit, timeOrderedId } from './ids.js'

/** A post as stored. */
interface Post {
  user: string | null
  text: string
  at: Date
}

/** Posts expire after a day, so the feed stays small without a cleanup job. */
const POST_TTL_MS = 24 * 3_600_000

/**
 * A live feed driven by `watch`: `POST /feed` adds a post to the shared `store`; `GET /feed/events` is a
 * Server-Sent Events stream of every change to the feed, from any host instance on the same backend. The watch
 * ends with the client's connection (its AbortSignal).
 */
export const feed: Plugin = {
  id: 'feed',
  description: 'a live feed of posts: POST to add, GET /feed/events to stream changes (watch, SSE)',
  routes: {
    'GET /': async ({ query }) => {
      const page = await store.list<Post>({
        reverse: true,
        limit: pageLimit(query, 20),
        cursor: query.get('cursor') ?? undefined,
      })
      return { json: { posts: page.entries.map(({ key, value }) => ({ id: key, ...value })), cursor: page.cursor } }
    },
    'POST /': async (request) => {
      const text = ((await request.json()) as { text?: unknown } | null)?.text
      if (typeof text !== 'string' || text.trim() === '' || text.length > 2000) {
        throw badRequest('send {"text": "…"}: a non-empty string of at most 2000 characters')
      }
      const id = timeOrderedId()
      const post: Post = { user: request.user ?? null, text, at: new Date() }
      await store.set(id, post, { ttl: POST_TTL_MS })
      return { status: 201, json: { id, ...post } }
    },
    'GET /events': ({ signal }) => ({ events: changes(signal) }),
  },
}

/**
 * The feed's changes as events: first `ready` (once the watch observes, so every later post is delivered), then
 * `post` with the post for each write and `delete` for each removal.
 */
async function* changes(signal: AbortSignal): AsyncGenerator<ServerEvent> {
  const watch = store.watch({}, { signal })
  try {
    await watch.ready
    yield { event: 'ready', data: { watching: 'feed' } }
    for await (const change of watch) {
      if (change.type === 'delete') {
        yield { event: 'delete', id: change.key, data: { id: change.key } }
        continue
      }
      const post = await store.get<Post>(change.key)
      // Gone again already (deleted or expired): the delete event follows.
      if (post) yield { event: 'post', id: change.key, data: { id: change.key, ...post } }
    }
  } finally {
    watch.close()
  }
}
