import { user } from '@cubby/core'
import { badRequest, notFound, type Plugin } from '../plugin.js'
import { pageLimit, timeOrderedId } from './ids.js'

/** A to-do item as stored (the Date round-trips as a Date). */
interface Todo {
  title: string
  done: boolean
  createdAt: Date
}

/**
 * A per-user to-do list: everything lives in the ambient `user` store, so each user sees only their own items and
 * a request without `x-user` is answered 401 (the `NO_CONTEXT` error). Toggling uses `update`, atomic under
 * concurrent requests; bulk creation uses `setMany`, all or nothing; the summary iterates with `entries()`.
 */
export const todos: Plugin = {
  id: 'todos',
  description: 'a per-user to-do list (the ambient `user` store): send x-user',
  routes: {
    'GET /': async ({ query }) => {
      const page = await user.list<Todo>({ limit: pageLimit(query), cursor: query.get('cursor') ?? undefined })
      return { json: { items: page.entries.map(({ key, value }) => ({ id: key, ...value })), cursor: page.cursor } }
    },
    'POST /': async (request) => {
      const title = readTitle(await request.json())
      const id = timeOrderedId()
      const todo: Todo = { title, done: false, createdAt: new Date() }
      await user.set(id, todo, { ifVersion: null })
      return { status: 201, json: { id, ...todo } }
    },
    'POST /bulk': async (request) => {
      const body = (await request.json()) as { titles?: unknown } | null
      if (!Array.isArray(body?.titles) || body.titles.length === 0 || body.titles.length > 100) {
        throw badRequest('send {"titles": ["…", …]}: 1 to 100 titles')
      }
      const now = new Date()
      const items = body.titles.map(
        (title) => [timeOrderedId(), { title: readTitle({ title }), done: false, createdAt: now }] as const,
      )
      // All or nothing: a quota error leaves none of them stored.
      await user.setMany(items)
      return { status: 201, json: { items: items.map(([id, todo]) => ({ id, ...todo })) } }
    },
    'GET /summary': async () => {
      // entries() walks every page, so this counts lists of any length without loading them at once.
      let total = 0
      let done = 0
      for await (const { value } of user.entries<Todo>()) {
        total++
        if (value.done) done++
      }
      return { json: { total, done, open: total - done } }
    },
    'GET /:id': async ({ params }) => {
      const todo = await user.get<Todo>(params.id!)
      if (!todo) throw notFound(`no to-do ${JSON.stringify(params.id)}`)
      return { json: { id: params.id, ...todo } }
    },
    'PATCH /:id': async (request) => {
      const body = (await request.json()) as { done?: unknown; title?: unknown }
      if (body === null || typeof body !== 'object') throw badRequest('send {"done": true} and/or {"title": "…"}')
      if (body.done !== undefined && typeof body.done !== 'boolean') throw badRequest('"done" must be a boolean')
      const title = body.title === undefined ? undefined : readTitle(body)
      const id = request.params.id!
      const todo = await user.update<Todo>(id, (current) => {
        if (!current) throw notFound(`no to-do ${JSON.stringify(id)}`)
        return { ...current, ...(title === undefined ? {} : { title }), done: (body.done as boolean) ?? current.done }
      })
      return { json: { id, ...todo } }
    },
    'DELETE /:id': async ({ params }) => {
      if (!(await user.delete(params.id!))) throw notFound(`no to-do ${JSON.stringify(params.id)}`)
      return { status: 204 }
    },
    'DELETE /': async () => ({ json: { deleted: await user.clear() } }),
  },
}

function readTitle(body: unknown): string {
  const title = (body as { title?: unknown } | null)?.title
  if (typeof title !== 'string' || title.trim() === '' || title.length > 500) {
    throw badRequest('send {"title": "…"}: a non-empty string of at most 500 characters')
  }
  return title
}
