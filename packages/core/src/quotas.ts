import type { QuotaRule, ScopePath } from './backend/contract.js'
import { InvalidConfigError } from './errors.js'
import { extendPath } from './keys.js'
import { checkInteger } from './limits.js'
import { isWithin } from './scope-path.js'

/** A cap on a subtree's live data. Either dimension may be omitted, but not both. */
export interface QuotaLimit {
  /** Most bytes (UTF-8 key bytes + encoded value bytes) the subtree may hold. @default no byte cap */
  maxBytes?: number
  /** Most keys the subtree may hold. @default no key cap */
  maxKeys?: number
}

/**
 * Storage caps. Positional caps follow the plugin-host hierarchy of `cubby.stores()`: `plugin` caps every scope at
 * depth 2 (`[workspace, plugin]`, its users included) and `user` every scope at depth 3 (`[workspace, plugin, user]`).
 * `scopes` caps specific paths. All that apply to a write are enforced together, atomically, in the backend.
 */
export interface QuotaOptions {
  /** Cap on each plugin's subtree `[workspace, plugin]` (its own keys, its child scopes and its users). @default no cap */
  plugin?: QuotaLimit
  /** Cap on each user's subtree `[workspace, plugin, user]`. @default no cap */
  user?: QuotaLimit
  /** Caps on explicit scope paths, each covering that scope and its descendants. @default [] */
  scopes?: ReadonlyArray<QuotaLimit & { path: readonly string[] }>
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
    if (plugin && minDepth > 2) throw tooShallow('quotas.plugin', 2, minDepth)
    if (user && minDepth > 3) throw tooShallow('quotas.user', 3, minDepth)
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
          path = extendPath([], rawPath, maxKeyBytes)
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
    if (this.plugin && path.length >= 2) rules.push({ scope: path.slice(0, 2), ...this.plugin })
    if (this.user && path.length >= 3) rules.push({ scope: path.slice(0, 3), ...this.user })
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
