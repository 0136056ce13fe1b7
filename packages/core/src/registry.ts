import type { BackendFactory } from './backend/contract.js'
import { InvalidConfigError } from './errors.js'

/** URL schemes and the package that implements each. */
const PACKAGES: Readonly<Record<string, string>> = {
  'memory:': '@cubby/backend-memory',
  'sqlite:': '@cubby/backend-sqlite',
  'redis:': '@cubby/backend-redis',
  'rediss:': '@cubby/backend-redis',
  'redis+cluster:': '@cubby/backend-redis',
  'rediss+cluster:': '@cubby/backend-redis',
  'postgres:': '@cubby/backend-postgres',
  'postgresql:': '@cubby/backend-postgres',
  'cubby+ws:': '@cubby/backend-remote',
  'cubby+wss:': '@cubby/backend-remote',
}

/** The scheme of a URL (`'sqlite:'`), or throws `InvalidConfigError`. */
export function schemeOf(url: string): string {
  const match = /^([a-z][a-z0-9+.-]*):/i.exec(url)
  if (!match)
    throw new InvalidConfigError(
      'url',
      `${JSON.stringify(url)} has no scheme; use memory:, sqlite:PATH, redis://HOST:PORT or postgres://USER@HOST:PORT/DATABASE`,
    )
  const scheme = `${match[1]!.toLowerCase()}:`
  if (!(scheme in PACKAGES)) {
    throw new InvalidConfigError(
      'url',
      `unknown scheme ${JSON.stringify(scheme)}; known: ${Object.keys(PACKAGES).join(', ')}`,
    )
  }
  return scheme
}

/** Loads the backend package for a scheme on demand. */
export function loadFactory(scheme: string): Promise<BackendFactory> {
  return loadPackage(PACKAGES[scheme]!, scheme)
}

/** Imports a backend package by name; a missing package is an `InvalidConfigError` saying what to install. */
export async function loadPackage(name: string, scheme: string): Promise<BackendFactory> {
  let module: { createBackend?: unknown }
  try {
    module = (await import(name)) as { createBackend?: unknown }
  } catch (error) {
    const code = (error as { code?: string }).code
    if (
      (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
      String((error as Error).message).includes(`'${name}'`)
    ) {
      throw new InvalidConfigError(
        'url',
        `the ${scheme} scheme needs the package ${name}; install it with \`npm install ${name}\``,
        { cause: error },
      )
    }
    throw new InvalidConfigError('url', `the package ${name} failed to load: ${(error as Error).message}`, {
      cause: error,
    })
  }
  if (typeof module.createBackend !== 'function') {
    throw new InvalidConfigError('url', `the package ${name} does not export createBackend(); is it a Cubby backend?`)
  }
  return module.createBackend as BackendFactory
}
