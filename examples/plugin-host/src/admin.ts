import { timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { Cubby } from '@cubby/core'
import { HttpError } from './plugin.js'

/**
 * Host-level operations that plugins cannot do (they only see their own scope): per-plugin usage and the number of
 * users holding data (`usage`, `users`), and deleting one user's data in every plugin (`user(id).drop()`), what a
 * user's "delete my account" needs. Enabled only with a token, sent as `authorization: Bearer <token>`.
 */
export class Admin {
  constructor(
    private readonly cubby: Cubby,
    private readonly pluginIds: readonly string[],
    private readonly token: string | undefined,
  ) {}

  /** Throws 404 when admin is disabled, 403 without the right token. */
  authorize(req: IncomingMessage): void {
    if (!this.token) throw new HttpError(404, 'NOT_FOUND', 'admin routes are off; start the host with ADMIN_TOKEN set')
    const given = Buffer.from(String(req.headers.authorization ?? ''))
    const expected = Buffer.from(`Bearer ${this.token}`)
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new HttpError(403, 'FORBIDDEN', 'send authorization: Bearer <ADMIN_TOKEN>')
    }
  }

  /** Usage of each plugin (its shared data and all its users') and how many users hold data in it. */
  async usage(workspace: string): Promise<unknown> {
    const plugins = await Promise.all(
      this.pluginIds.map(async (id) => {
        const scope = this.cubby.scope(workspace, id)
        let users = 0
        let cursor: string | undefined
        do {
          const page = await scope.users({ limit: 1000, cursor })
          users += page.ids.length
          cursor = page.cursor
        } while (cursor !== undefined)
        return { id, usage: await scope.usage(), users }
      }),
    )
    return { workspace, plugins }
  }

  /** Removes a user's scope, and everything below it, in every plugin. */
  async dropUser(workspace: string, user: string): Promise<unknown> {
    const freed = await Promise.all(
      this.pluginIds.map(async (id) => {
        const scope = this.cubby.scope(workspace, id).user(user)
        const { keys } = await scope.usage()
        await scope.drop()
        return [id, keys] as const
      }),
    )
    return { workspace, user, deletedKeys: Object.fromEntries(freed) }
  }
}
