import { realpathSync, statSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileFromUrl } from '@cubby/backend-sqlite'
import { CliError, EXIT } from './exit-codes.js'

/**
 * What the CLI needs to know about store URLs beyond opening them: which file a `sqlite:` URL names (to refuse a
 * mistyped path instead of creating an empty store there), and whether two URLs name the same store.
 */

/**
 * The file a `sqlite:` URL names, as the SQLite backend reads it (`sqlite:./rel.db`, `sqlite:/abs.db`,
 * `sqlite:///abs.db`, %-escapes decoded); undefined for other schemes, `sqlite::memory:` and malformed URLs (which
 * the backend then reports).
 */
export function sqliteFile(url: string): string | undefined {
  if (!url.toLowerCase().startsWith('sqlite:')) return undefined
  try {
    const file = fileFromUrl(url)
    return file === ':memory:' ? undefined : file
  } catch {
    return undefined
  }
}

/**
 * Refuses a `sqlite:` URL whose file does not exist (exit 1, `NO_SUCH_STORE`). Opening it would create an empty
 * store there, so a typo in a read, an export or a migrate source would "succeed" with nothing. Other schemes pass.
 */
export function assertStoreExists(url: string): void {
  const file = sqliteFile(url)
  if (file === undefined) return
  let isFile: boolean
  try {
    isFile = statSync(file).isFile()
  } catch {
    throw new CliError(
      EXIT.ERROR,
      'NO_SUCH_STORE',
      `sqlite file ${file} does not exist (check --url / CUBBY_URL; only set, import and a migrate target create a store)`,
    )
  }
  if (!isFile) throw new CliError(EXIT.ERROR, 'NO_SUCH_STORE', `sqlite file ${file} is not a file`)
}

/**
 * A key that is equal for two URLs naming the same store: SQLite files by their real path (`sqlite:./a.db` and
 * `sqlite:a.db` match), Redis by lower-cased host, port (default 6379) and database (default 0). Other URLs are
 * compared as written. Aliases it cannot see through (a hostname and its IP, hard links) still differ.
 */
export function storeIdentity(url: string): string {
  const file = sqliteFile(url)
  if (file !== undefined) {
    const absolute = resolve(file)
    try {
      return `sqlite:${realpathSync(absolute)}`
    } catch {
      return `sqlite:${absolute}`
    }
  }
  const redis = /^(rediss?):\/\//i.exec(url)
  if (redis) {
    try {
      const parsed = new URL(url)
      const db = Number(parsed.pathname.replace(/^\//, '') || '0')
      return `redis://${parsed.hostname.toLowerCase()}:${parsed.port || '6379'}/${db}`
    } catch {
      return url
    }
  }
  return url
}
