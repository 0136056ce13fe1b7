import type { Backend, BackendFactory } from './backend/contract.js'
import { asCubbyError } from './backend-failure.js'
import { Codec, type CustomType } from './codec/codec.js'
import { Cubby } from './cubby.js'
import { Engine, withDeadline } from './engine.js'
import { InvalidConfigError } from './errors.js'
import { checkInteger, type Limits, resolveLimits } from './limits.js'
import { type QuotaOptions, Quotas } from './quotas.js'
import { loadFactory, schemeOf } from './registry.js'

/** The URL used when neither an argument nor `CUBBY_URL` gives one. */
export const DEFAULT_URL = 'sqlite:./data/cubby.db'

/** Options of `openCubby`. Keys not listed here are backend options, validated by the backend. */
export interface CubbyOptions {
  /** Which backend and where: `memory:`, `sqlite:PATH`, `redis://…`, `redis+cluster://…`. @default process.env.CUBBY_URL ?? 'sqlite:./data/cubby.db' */
  url?: string
  /** A backend object, or a factory, to use instead of one chosen by `url` (for third-party backends). */
  backend?: Backend | BackendFactory
  /** Size and batch limits. @default DEFAULT_LIMITS */
  limits?: Partial<Limits>
  /** Storage caps per plugin, per user, or per scope. @default no quotas */
  quotas?: QuotaOptions
  /** A backend call that takes longer fails with `BackendError`. @default 10000 */
  timeoutMs?: number
  /** Custom types the codec can store. @default [] */
  types?: readonly CustomType[]
  /** Milliseconds since the epoch; inject one to test TTLs without waiting. @default Date.now */
  clock?: () => number
  /** Backend-specific options (e.g. `durability` for SQLite, `prefix` for Redis). */
  [backendOption: string]: unknown
}

const CORE_OPTIONS = new Set(['url', 'backend', 'limits', 'quotas', 'timeoutMs', 'types', 'clock'])

/**
 * Opens a cubby. With no argument: `CUBBY_URL`, else SQLite at `./data/cubby.db`. A URL string or an options object
 * selects the backend, whose package is loaded on demand. Creating the backend is bounded by `timeoutMs`
 * (`BackendError` after it). Rejects with `InvalidConfigError` naming the field for a bad URL or option.
 */
export async function openCubby(target?: string | CubbyOptions): Promise<Cubby> {
  const options = (typeof target === 'string' ? { url: target } : target === undefined ? {} : target) as CubbyOptions
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidConfigError(
      'openCubby',
      `takes a URL string or an options object, got ${options === null ? 'null' : typeof options}; call openCubby() for the default`,
    )
  }
  const limits = resolveLimits(options.limits)
  const timeoutMs = options.timeoutMs === undefined ? 10_000 : checkInteger('timeoutMs', options.timeoutMs, 1)
  const clock = options.clock ?? Date.now
  if (typeof clock !== 'function')
    throw new InvalidConfigError('clock', 'must be a function returning epoch milliseconds')
  if (options.types !== undefined && !Array.isArray(options.types))
    throw new InvalidConfigError('types', 'must be an array')
  const codec = new Codec(options.types ?? [])
  const backendOptions: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(options)) if (!CORE_OPTIONS.has(name)) backendOptions[name] = value

  const owned = options.backend === undefined || typeof options.backend === 'function'
  const backend = await createBackend(options, backendOptions, clock, timeoutMs)
  try {
    if (typeof backend.capabilities !== 'object' || backend.capabilities === null) {
      throw new InvalidConfigError('backend', 'the backend has no capabilities object (see BackendCapabilities)')
    }
    const quotas = Quotas.from(options.quotas, limits.maxKeyBytes, backend.capabilities.minQuotaDepth)
    if (quotas.any && !backend.capabilities.quotas) {
      throw new InvalidConfigError('quotas', `the ${backend.name} backend does not enforce quotas`)
    }
    return new Cubby(new Engine(backend, codec, limits, quotas, clock, timeoutMs))
  } catch (error) {
    // Release a backend we created; one the caller passed in stays theirs. The configuration error is what matters.
    if (owned) {
      await withDeadline(
        Promise.resolve().then(() => backend.close()),
        timeoutMs,
        'close timed out',
      ).catch(() => {})
    }
    throw error
  }
}

async function createBackend(
  options: CubbyOptions,
  backendOptions: Record<string, unknown>,
  clock: () => number,
  timeoutMs: number,
): Promise<Backend> {
  const given = options.backend
  if (given !== undefined && typeof given !== 'function') {
    if (typeof given !== 'object' || given === null || typeof (given as Backend).write !== 'function') {
      throw new InvalidConfigError('backend', 'must be a Backend object or a factory returning one')
    }
    return given
  }
  const url = options.url ?? process.env.CUBBY_URL ?? DEFAULT_URL
  if (typeof url !== 'string') throw new InvalidConfigError('url', 'must be a string')
  const factory = given ?? (await loadFactory(schemeOf(url)))
  let backend: Backend
  try {
    const creating = Promise.resolve().then(() => factory({ url, options: backendOptions, clock, timeoutMs }))
    backend = await withDeadline(
      creating,
      timeoutMs,
      `${given ? 'the backend factory' : `opening ${JSON.stringify(url)}`} did not finish within ${timeoutMs} ms ` +
        '(timeoutMs); check that the storage is reachable',
      // Nobody will use a backend that arrives after the deadline: release it.
      (late) => void Promise.resolve(late?.close?.()).catch(() => {}),
    )
  } catch (error) {
    throw asCubbyError(error, 'opening the backend')
  }
  if (typeof backend !== 'object' || backend === null || typeof backend.write !== 'function') {
    throw new InvalidConfigError('backend', 'the backend factory did not return a Backend object')
  }
  return backend
}
