import type { QuotaRule, ScopePath } from './backend/contract.js'
import { InvalidConfigError } from './errors.js'
import { assertSegment } from './keys.js'
import { assertStoragePath, PLUGIN_DEPTH, USER_LEVEL, userRoot } from './layout.js'
import { checkInteger } from './limits.js'
import { isWithin } from './scope-path.js'

/** A cap on a subtree's live data. Either dimension may be omitted, but not both. */
export interface QuotaLimit {
  /** Most bytes (UTF-8 key bytes + encoded value bytes) the subtree may hold. @default no byte cap */
  maxBytes?: number
  /** Most keys the subtree may hold. @default no key cap */
  maxKeys?: number
}

/** An explicit cap on one scope and its descendants. */
export interface ScopeQuota extends QuotaLimit {
  /**
   * The capped scope's storage path, as a view's `path` gives it: a user's scope, or a scope below it, has `''` at
   * index 2 (`cubby.stores({ plugin, user }).user.path` is `[workspace, plugin, '', user]`).
   */
  path: readonly string[]
}

/**
 * Storage caps. Positional caps follow the plugin-host hierarchy of `cubby.stores()`: `plugin` caps every scope at
 * depth 2 (`[workspace, plugin]`, its users included) and `user` every user's scope (`stores({ user }).user`, the
 * user level below a plugin). `scopes` caps specific scopes. All that apply to a write are enforced together,
 * atomically, in the backend.
 */
export interface QuotaOptions {
  /** Cap on each plugin's subtree `[workspace, plugin]` (its own keys, its child scopes and its users). @default no cap */
  plugin?: QuotaLimit
  /** Cap on each user's private subtree (a user's scope and the user's own child scopes). @default no cap */
  user?: QuotaLimit
  /** Caps on explicit scopes, each covering that scope and its descendants. @default [] */
  scopes?: ReadonlyArray<ScopeQuota>
}

/** Validated quotas, answering "which caps apply to a write in this scope". */
export class Quotas {
  private constructor(
    private readonly plugin: QuotaLimit | undefined,
    private readonly user: QuotaLimit | undefined,
    private readonly explicit: ReadonlyArray<QuotaRule>,
  ) {}

  /** Validates `quotas` options. `minDepth` is the backend's `capabilities.minQuotaDepth`. */
  static from(input: unknown, maxKeyBytes: number, minDepth: number): Quotas {
    if (input === undefined) return new Quotas(undefined, undefined, [])
    if (typeof input !== 'object' || input === null) throw new InvalidConfigError('quotas', 'must be an object')
    const options = input as Record<string, unknown>
    for (const name of Object.keys(options)) {
      if (!['plugin', 'user', 'scopes'].includes(name)) {
        throw new InvalidConfigError(`quotas.${name}`, 'is not a known quota (known: plugin, user, scopes)')
      }
    }
    const plugin = readLimit('quotas.plugin', options.plugin)
    const user = readLimit('quotas.user', options.user)
    if (plugin && minDepth > PLUGIN_DEPTH) throw tooShallow('quotas.plugin', PLUGIN_DEPTH, minDepth)
    if (user && minDepth > PLUGIN_DEPTH + 2) throw tooShallow('quotas.user', PLUGIN_DEPTH + 2, minDepth)
    const explicit: QuotaRule[] = []
    if (options.scopes !== undefined) {
      if (!Array.isArray(options.scopes)) throw new InvalidConfigError('quotas.scopes', 'must be an array')
      options.scopes.forEach((entry: unknown, i) => {
        const field = `quotas.scopes[${i}]`
        const limit = readLimit(field, entry, ['path'])!
        const rawPath = (entry as { path?: unknown }).path
        if (!Array.isArray(rawPath)) throw new InvalidConfigError(`${field}.path`, 'must be an array of segments')
        let path: string[]
        try {
          path = [...rawPath]
          for (const segment of path) if (segment !== USER_LEVEL) assertSegment(segment, maxKeyBytes)
          assertStoragePath(path)
        } catch (error) {
          throw new InvalidConfigError(`${field}.path`, (error as Error).message)
        }
        if (path.length < minDepth) throw tooShallow(`${field}.path`, path.length, minDepth)
        explicit.push({ scope: path, ...limit })
      })
    }
    return new Quotas(plugin, user, explicit)
  }

  /** The caps that apply to a write in scope `path`. */
  rulesFor(path: ScopePath): QuotaRule[] {
    const rules: QuotaRule[] = []
    if (this.plugin && path.length >= PLUGIN_DEPTH) rules.push({ scope: path.slice(0, PLUGIN_DEPTH), ...this.plugin })
    const user = this.user && userRoot(path)
    if (user) rules.push({ scope: user, ...this.user! })
    for (const rule of this.explicit) if (isWithin(path, rule.scope)) rules.push(rule)
    return rules
  }

  /** Whether any quota is configured. */
  get any(): boolean {
    return this.plugin !== undefined || this.user !== undefined || this.explicit.length > 0
  }
}

function readLimit(field: string, input: unknown, extraKeys: string[] = []): QuotaLimit | undefined {
  if (input === undefined) return undefined
  if (typeof input !== 'object' || input === null) throw new InvalidConfigError(field, 'must be an object')
  const limit: QuotaLimit = {}
  for (const [name, value] of Object.entries(input)) {
    if (extraKeys.includes(name)) continue
    if (name !== 'maxBytes' && name !== 'maxKeys') {
      throw new InvalidConfigError(`${field}.${name}`, 'is not a quota field (known: maxBytes, maxKeys)')
    }
    if (value !== undefined) limit[name] = checkInteger(`${field}.${name}`, value, 0)
  }
  if (limit.maxBytes === undefined && limit.maxKeys === undefined) {
    throw new InvalidConfigError(field, 'sets no limit; give maxBytes and/or maxKeys, or leave the quota out')
  }
  return limit
}

function tooShallow(field: string, depth: number, minDepth: number): InvalidConfigError {
  return new InvalidConfigError(
    field,
    `caps scopes at depth ${depth}, but this backend enforces quotas atomically only at depth >= ${minDepth}`,
  )
}
