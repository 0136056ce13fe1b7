import { type Backend, type Cubby, type CubbyOptions, openCubby } from '@cubby/core'
import { onTestFinished } from 'vitest'
import type { Backdoor, ConformanceHandle, ConformanceTarget } from './target.js'

/** A test clock that only moves when told to. Starts at the real time so backends with native expiry stay sane. */
export class FakeClock {
  private current = Math.floor(Date.now())
  /** The current fake time in epoch ms; pass it as a cubby's or backend's `clock`. */
  readonly now = (): number => this.current
  /** Moves the clock forward by `ms` milliseconds. */
  advance(ms: number): void {
    this.current += ms
  }
}

/** What one test works with: a cubby on fresh storage, its clock, the backdoor, and peers on the same storage. */
export interface Env {
  /** A cubby on the fresh storage, closed after the test. */
  cubby: Cubby
  /** The clock every cubby of this test uses; advance it to expire keys. */
  clock: FakeClock
  /** Direct reads of the storage. */
  backdoor: Backdoor
  /** What the target's `create` returned. */
  handle: ConformanceHandle
  /** Opens another cubby on the same storage (another process or host instance); closed after the test. */
  peer(options?: Partial<CubbyOptions>): Promise<Cubby>
  /** Opens another cubby on the handle's own backend object (e.g. with different options); closed after the test. */
  reopen(options?: Partial<CubbyOptions>): Promise<Cubby>
}

/** Options a test passes to `openCubby` on top of `{ backend, clock }`. */
export type EnvOptions = Omit<CubbyOptions, 'backend' | 'url'>

/**
 * Creates fresh storage and a cubby for the current test, and registers cleanup for when it finishes (cubbies first,
 * then the storage).
 */
export async function setup(target: ConformanceTarget, options: EnvOptions = {}): Promise<Env> {
  const clock = new FakeClock()
  const handle = await target.create({ clock: clock.now })
  const cubbies: Cubby[] = []
  const open = async (backend: Backend, extra: Partial<CubbyOptions>) => {
    const cubby = await openCubby({ clock: clock.now, ...options, ...extra, backend })
    cubbies.push(cubby)
    return cubby
  }
  onTestFinished(async () => {
    for (const cubby of cubbies.reverse()) await cubby.close().catch(() => {})
    await handle.cleanup?.()
  })
  const cubby = await open(handle.backend, {})
  return {
    cubby,
    clock,
    backdoor: handle.backdoor,
    handle,
    peer: async (extra = {}) => open(await handle.peer(), extra),
    reopen: async (extra = {}) => open(sharedBackend(handle.backend), extra),
  }
}

/**
 * A view of a backend whose `close` is a no-op (so several cubbies can share one backend object), with some
 * members replaced (`changes` win, `close` included). Backends whose instances share in-process storage can return `sharedBackend(backend)` as
 * their conformance `peer()`.
 */
export function sharedBackend(backend: Backend, changes: Partial<Backend> = {}): Backend {
  return new Proxy(backend, {
    get(object, property, receiver) {
      if (property in changes) return changes[property as keyof Backend]
      if (property === 'close') return async () => {}
      const value = Reflect.get(object, property, receiver)
      return typeof value === 'function' ? value.bind(object) : value
    },
  })
}

/** Waits until `condition` returns true, polling; fails after `timeoutMs` with `message`. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  message: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await condition()) return
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${message}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Resolves to the error a promise rejected with, failing if it resolved. */
export async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise
  } catch (error) {
    return error as Error & { code?: string }
  }
  throw new Error('expected the call to reject, but it resolved')
}

/** Calls `fn` and returns its promise, failing the test if it throws synchronously. */
export function mustReturnPromise(fn: () => Promise<unknown>, what: string): Promise<unknown> {
  let result: Promise<unknown>
  try {
    result = fn()
  } catch (error) {
    throw new Error(`${what} threw synchronously instead of rejecting: ${(error as Error).message}`)
  }
  if (!(result instanceof Promise)) throw new Error(`${what} did not return a promise`)
  return result
}

/** UTF-8 byte order of strings, independent of the code under test. */
export function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}

/** The error `fn` throws synchronously, failing if it does not throw. */
export function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn()
  } catch (error) {
    return error as Error & { code?: string }
  }
  throw new Error('expected the call to throw, but it returned')
}
