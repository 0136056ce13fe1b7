/**
 * `@cubby/backend-remote`: the client of `@cubby/server`, as a Cubby backend. Open it with
 * `openCubby({ url: 'cubby+ws://127.0.0.1:7411', token })` (or `CUBBY_URL` / `CUBBY_TOKEN`), then run plugin code in
 * the token's context: `cubby.run(tokenContext(token), fn)`.
 */
export { createBackend, type RemoteOptions, socketUrl } from './create.js'
export { RemoteBackend } from './remote-backend.js'
export { tokenContext } from './token-context.js'
