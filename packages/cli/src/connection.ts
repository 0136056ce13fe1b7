import { type Cubby, DEFAULT_URL, openCubby } from '@cubby/core'
import { assertStoreExists } from './store-url.js'

/**
 * An open store. Export, import and migrate move encoded value bytes through `cubby` with core's raw door
 * (`@cubby/core/raw`), so values round-trip byte for byte, even those of custom types this CLI cannot decode.
 */
export interface Connection {
  /** The URL it was opened with. */
  readonly url: string
  readonly cubby: Cubby
  /** Closes the cubby (and with it the backend). */
  close(): Promise<void>
}

/** Options of `connect`. */
export interface ConnectOptions {
  /** A backend call slower than this fails with `BACKEND`. @default 10000 */
  timeoutMs?: number
  /** Backend options passed to `openCubby` (e.g. `{ prefix: 'myapp' }` for Redis). @default {} */
  backendOptions?: Readonly<Record<string, unknown>>
  /**
   * Refuse a `sqlite:` URL whose file does not exist (`NO_SUCH_STORE`, exit 1) instead of creating an empty store:
   * what every command that only reads, or reads from a source, asks for. @default false
   */
  mustExist?: boolean
}

/**
 * Opens `url` with `openCubby` (a bad URL or a missing backend package is its `INVALID_CONFIG` error, saying what to
 * install). With `mustExist`, a missing SQLite file is refused first.
 */
export async function connect(url: string, options: ConnectOptions = {}): Promise<Connection> {
  if (options.mustExist) assertStoreExists(url)
  const cubby = await openCubby({
    ...options.backendOptions,
    url,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  })
  return { url, cubby, close: () => cubby.close() }
}

/** The URL to open: `--url`, else `CUBBY_URL`, else the default SQLite file. */
export function resolveUrl(flag: string | undefined, env: Readonly<Record<string, string | undefined>>): string {
  return flag ?? (env.CUBBY_URL || DEFAULT_URL)
}

/** A URL fit for printing: any password is replaced by `***`. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@/]*?):([^@/]*)@/i, '$1$2:***@')
}
