import { InvalidConfigError, UnauthorizedError } from '@cubby/core'
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, SignJWT } from 'jose'

/** A permission a token grants. */
export type Permission = 'read' | 'write' | 'watch'

/** The permissions, in the order they are listed in messages. */
export const PERMISSIONS: readonly Permission[] = ['read', 'write', 'watch']

/** One HMAC key. */
export interface TokenKey {
  /** Key id, carried in each token's header (`kid`) so keys can rotate. */
  kid: string
  /** The shared secret, at least 32 bytes (a string is taken as UTF-8). */
  secret: string | Uint8Array
}

/** Keys a server accepts. */
export interface KeyringOptions {
  /** Keys in use; the first one signs new tokens. Tokens signed with any of them verify. */
  keys: readonly TokenKey[]
  /**
   * Key ids that no longer verify (rotated out). A token signed with one is refused with `UnauthorizedError`
   * saying so, even if its secret is still listed in `keys`. @default []
   */
  retired?: readonly string[]
}

/** Which data a token opens. */
export interface TokenClaims {
  /** Workspace of the context. @default 'default' */
  workspace?: string
  /** The plugin id. */
  plugin: string
  /** The user on whose behalf the plugin runs; the token then opens that user's scope too. */
  user?: string
  /** What the holder may do. */
  access: readonly Permission[]
  /** Lifetime: milliseconds, or a string like `'15m'` / `'2h'`. */
  expiresIn: number | string
}

/** A token for the whole store (host tools such as a remote `cubby` CLI); servers refuse it unless `allowRoot`. */
export interface RootClaims {
  root: true
  access: readonly Permission[]
  expiresIn: number | string
}

/** What the server learned from a verified token. */
export interface VerifiedToken {
  root: boolean
  workspace?: string
  plugin?: string
  user?: string
  access: ReadonlySet<Permission>
  /** Expiry, epoch ms. */
  expiresAt: number
}

/** A set of signing keys with rotation: the first key signs, every listed key verifies, retired ids never do. */
export class Keyring {
  private readonly keys = new Map<string, Uint8Array>()
  private readonly retired: ReadonlySet<string>
  /** The id of the key that signs new tokens. */
  readonly current: string

  constructor(options: KeyringOptions) {
    if (typeof options !== 'object' || options === null || !Array.isArray(options.keys) || options.keys.length === 0) {
      throw new InvalidConfigError('keys', 'must list at least one { kid, secret }')
    }
    for (const [i, key] of options.keys.entries()) {
      if (typeof key?.kid !== 'string' || key.kid === '') {
        throw new InvalidConfigError(`keys[${i}].kid`, 'must be a non-empty string')
      }
      const secret = typeof key.secret === 'string' ? new TextEncoder().encode(key.secret) : key.secret
      if (!(secret instanceof Uint8Array) || secret.byteLength < 32) {
        throw new InvalidConfigError(`keys[${i}].secret`, 'must be at least 32 bytes (e.g. randomBytes(32))')
      }
      this.keys.set(key.kid, secret)
    }
    this.retired = new Set(options.retired ?? [])
    this.current = options.keys[0]!.kid
    if (this.retired.has(this.current)) {
      throw new InvalidConfigError('keys[0]', 'signs new tokens, so it cannot be retired; put a new key first')
    }
  }

  /** The secret for `kid`, or `UnauthorizedError` when it is unknown or retired. */
  secretFor(kid: unknown): Uint8Array {
    if (typeof kid !== 'string') throw new UnauthorizedError('the token has no key id (kid); mint it with mintToken()')
    if (this.retired.has(kid)) {
      throw new UnauthorizedError(`the token was signed with retired key ${JSON.stringify(kid)}; get a new token`)
    }
    const secret = this.keys.get(kid)
    if (!secret) throw new UnauthorizedError(`the token was signed with unknown key ${JSON.stringify(kid)}`)
    return secret
  }
}

const SEGMENT_MAX = 1024

function checkName(field: string, value: unknown): string {
  if (
    typeof value !== 'string' ||
    value === '' ||
    value.isWellFormed?.() === false ||
    Buffer.byteLength(value) > SEGMENT_MAX
  ) {
    throw new InvalidConfigError(field, 'must be a non-empty, well-formed string of at most 1024 bytes')
  }
  return value
}

function checkAccess(access: unknown): Permission[] {
  if (!Array.isArray(access) || access.some((p) => !PERMISSIONS.includes(p as Permission))) {
    throw new InvalidConfigError('access', `must be an array of ${PERMISSIONS.map((p) => `'${p}'`).join(', ')}`)
  }
  return [...new Set(access as Permission[])]
}

/**
 * Signs a token (HS256 JWT with `kid`) that opens exactly one plugin context `{ workspace, plugin, user? }` with
 * `access`, until it expires. `key` is the keyring (its current key signs) or one key. The token is the only
 * credential a plugin process needs: give it `CUBBY_TOKEN`.
 */
export async function mintToken(claims: TokenClaims | RootClaims, key: Keyring | TokenKey): Promise<string> {
  const ring = key instanceof Keyring ? key : new Keyring({ keys: [key] })
  if (typeof claims !== 'object' || claims === null) throw new InvalidConfigError('claims', 'must be an object')
  const access = checkAccess(claims.access)
  const payload: Record<string, unknown> = { acc: access }
  if ('root' in claims && claims.root === true) payload.root = true
  else {
    const c = claims as TokenClaims
    payload.cw = checkName('workspace', c.workspace ?? 'default')
    payload.cp = checkName('plugin', c.plugin)
    if (c.user !== undefined) payload.cu = checkName('user', c.user)
  }
  const expiresIn = claims.expiresIn
  let exp: number | string
  if (typeof expiresIn === 'number') {
    if (!Number.isFinite(expiresIn) || expiresIn <= 0) {
      throw new InvalidConfigError('expiresIn', 'must be a positive number of milliseconds or a string like "15m"')
    }
    exp = Math.ceil((Date.now() + expiresIn) / 1000)
  } else if (typeof expiresIn === 'string') exp = expiresIn
  else throw new InvalidConfigError('expiresIn', 'is required: milliseconds, or a string like "15m"')
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'HS256', kid: ring.current, typ: 'cubby+jwt' })
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(ring.secretFor(ring.current))
}

/** How far a token's `iat` may lie ahead of the server's clock (the host's clock may run a little fast). */
const MAX_CLOCK_SKEW_MS = 60_000

/**
 * Verifies a token against the keyring at time `now` (epoch ms). Rejects with `UnauthorizedError` for a missing,
 * malformed, tampered, expired, unknown-key or retired-key token, and for one issued (`iat`) more than a minute in the
 * future.
 */
export async function verifyToken(token: unknown, keyring: Keyring, now: number): Promise<VerifiedToken> {
  if (typeof token !== 'string' || token === '') throw new UnauthorizedError('no token was given')
  let kid: unknown
  try {
    kid = decodeProtectedHeader(token).kid
  } catch {
    throw new UnauthorizedError('the token is malformed (not a compact JWT)')
  }
  const secret = keyring.secretFor(kid)
  let payload: Record<string, unknown>
  try {
    ;({ payload } = await jwtVerify(token, secret, {
      algorithms: ['HS256'],
      currentDate: new Date(now),
      requiredClaims: ['exp'],
      typ: 'cubby+jwt',
    }))
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) throw new UnauthorizedError('the token has expired; get a new one')
    throw new UnauthorizedError(`the token is invalid (${(error as Error).message}); get a new one`)
  }
  if (typeof payload.iat === 'number' && payload.iat * 1000 > now + MAX_CLOCK_SKEW_MS) {
    throw new UnauthorizedError('the token is issued in the future (iat); check the clocks, or get a new token')
  }
  const access = payload.acc
  if (!Array.isArray(access) || access.some((p) => !PERMISSIONS.includes(p as Permission))) {
    throw new UnauthorizedError('the token has no valid access list')
  }
  const base = { access: new Set(access as Permission[]), expiresAt: (payload.exp as number) * 1000 }
  if (payload.root === true) return { root: true, ...base }
  const { cw, cp, cu } = payload
  if (
    typeof cw !== 'string' ||
    typeof cp !== 'string' ||
    cw === '' ||
    cp === '' ||
    (cu !== undefined && (typeof cu !== 'string' || cu === ''))
  ) {
    throw new UnauthorizedError('the token names no valid context')
  }
  return cu === undefined
    ? { root: false, workspace: cw, plugin: cp, ...base }
    : { root: false, workspace: cw, plugin: cp, user: cu as string, ...base }
}
