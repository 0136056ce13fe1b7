import type { ChangeEvent, Watch } from '@cubby/core'
import { describe, expect, it } from 'vitest'
import { type Capabilities, gatedIt } from '../gate.js'
import { rejection, setup, waitFor } from '../harness.js'
import type { ConformanceTarget } from '../target.js'

/** Collects a watch's events in the background. */
function collect(watch: Watch): { events: ChangeEvent[]; done: Promise<Error | undefined> } {
  const events: ChangeEvent[] = []
  const done = (async () => {
    try {
      for await (const event of watch) events.push(event)
      return undefined
    } catch (error) {
      return error as Error
    }
  })()
  return { events, done }
}

const brief = (events: ChangeEvent[]) => events.map((e) => `${e.type}:${e.key}`)

/** Registers the watch tests for `target`. */
export function watchGroup(target: ConformanceTarget, capabilities: Capabilities): void {
  describe('watch', () => {
    it('delivers one event per write, in commit order, with the new versions', async () => {
      const { cubby } = await setup(target)
      const store = cubby.scope('w')
      const watch = store.watch()
      await watch.ready
      const seen = collect(watch)
      const v1 = await store.set('a', 1)
      await store.incr('n')
      await store.update('a', () => 2)
      await store.delete('a')
      await store.delete('never-existed')
      await store.setMany({ b: 1, c: 2 })
      await store.deleteMany(['b', 'x'])
      await store.atomic().set('d', 1).delete('c').commit()
      await store.scope('child').set('ignored', 1)
      await store.clear()
      await waitFor(() => seen.events.length >= 11, 'all events')
      expect(brief(seen.events.slice(0, 9))).toEqual([
        'set:a',
        'set:n',
        'set:a',
        'delete:a',
        'set:b',
        'set:c',
        'delete:b',
        'set:d',
        'delete:c',
      ])
      expect(brief(seen.events.slice(9)).sort()).toEqual(['delete:d', 'delete:n']) // clear: one per removed key
      await store.set('last', 1)
      await waitFor(() => seen.events.length >= 12, 'the last event')
      expect(seen.events).toHaveLength(12)
      expect(seen.events[0]).toEqual({ type: 'set', key: 'a', version: v1 })
      expect(typeof seen.events[1]!.version).toBe('string')
      watch.close()
      expect(await seen.done).toBeUndefined()
    })

    it('filters by prefix and by keys', async () => {
      const { cubby } = await setup(target)
      const store = cubby.scope('wf')
      const byPrefix = store.watch({ prefix: 'user:' })
      const byKeys = store.watch({ keys: ['a', 'user:2'] })
      await Promise.all([byPrefix.ready, byKeys.ready])
      const p = collect(byPrefix)
      const k = collect(byKeys)
      for (const key of ['a', 'user:1', 'b', 'user:2', 'usera']) await store.set(key, 1)
      // A last write both filters match: once it arrives, every earlier event has arrived too (commit order), so
      // the lists below are complete and a late extra event would show.
      await store.set('user:2', 'sentinel')
      await waitFor(() => p.events.length >= 3 && k.events.length >= 3, 'the sentinel on both watches')
      expect(brief(p.events)).toEqual(['set:user:1', 'set:user:2', 'set:user:2'])
      expect(brief(k.events)).toEqual(['set:a', 'set:user:2', 'set:user:2'])
      byPrefix.close()
      byKeys.close()
    })

    it('delivers writes from another instance on the same storage', async () => {
      const { cubby, peer } = await setup(target)
      const other = await peer()
      const watch = cubby.scope('wx').watch()
      await watch.ready
      const seen = collect(watch)
      for (let i = 0; i < 20; i++) await other.scope('wx').set(`k${i}`, i)
      await other.scope('wx').delete('k0')
      await waitFor(() => seen.events.length >= 21, 'events from the peer instance')
      expect(brief(seen.events)).toEqual([...Array.from({ length: 20 }, (_, i) => `set:k${i}`), 'delete:k0'])
      watch.close()
    })

    it('tells a watcher of a child scope about drop() of an ancestor', async () => {
      const { cubby } = await setup(target)
      await cubby.scope('wd', 'child').setMany({ a: 1, b: 2 })
      const watch = cubby.scope('wd', 'child').watch()
      await watch.ready
      const seen = collect(watch)
      await cubby.scope('wd').drop()
      await waitFor(() => seen.events.length >= 2, 'delete events from drop')
      expect(brief(seen.events).sort()).toEqual(['delete:a', 'delete:b'])
      watch.close()
    })

    it('gives every watcher every event', async () => {
      const { cubby } = await setup(target)
      const store = cubby.scope('wm')
      const watches = [store.watch(), store.watch(), store.watch()]
      await Promise.all(watches.map((w) => w.ready))
      const seen = watches.map(collect)
      await Promise.all(Array.from({ length: 30 }, (_, i) => store.set(`k${i}`, i)))
      await waitFor(() => seen.every((s) => s.events.length >= 30), 'events on every watcher')
      expect(brief(seen[1]!.events)).toEqual(brief(seen[0]!.events))
      expect(brief(seen[2]!.events)).toEqual(brief(seen[0]!.events))
      for (const w of watches) w.close()
    })

    it('ends cleanly on abort, on close() and when the cubby closes', async () => {
      const env = await setup(target)
      const store = env.cubby.scope('we')
      const controller = new AbortController()
      const aborted = store.watch({}, { signal: controller.signal })
      const closed = store.watch()
      const other = await env.reopen()
      const ended = other.scope('we').watch()
      await Promise.all([aborted.ready, closed.ready, ended.ready])
      const results = [collect(aborted), collect(closed), collect(ended)]
      await store.set('a', 1)
      await waitFor(() => results.every((r) => r.events.length === 1), 'first event')
      controller.abort()
      closed.close()
      await other.close()
      expect(await Promise.all(results.map((r) => r.done))).toEqual([undefined, undefined, undefined])
      const early = new AbortController()
      early.abort()
      const never = store.watch({}, { signal: early.signal })
      expect(await never[Symbol.asyncIterator]().next()).toEqual({ value: undefined, done: true })
    })

    it('does not slow writers for a slow consumer: past maxBuffered it ends with WatchOverflowError', async () => {
      const { cubby } = await setup(target)
      const store = cubby.scope('wo')
      const watch = store.watch({}, { maxBuffered: 10 })
      await watch.ready
      await Promise.all(Array.from({ length: 50 }, (_, i) => store.set(`k${i}`, i)))
      const iterator = watch[Symbol.asyncIterator]()
      let delivered = 0
      let failure: (Error & { code?: string }) | undefined
      await waitFor(async () => {
        try {
          const next = await iterator.next()
          if (next.done) return true
          delivered++
          return false
        } catch (error) {
          failure = error as Error
          return true
        }
      }, 'the overflow to surface')
      expect(delivered).toBeLessThanOrEqual(10 + 1) // at most the buffer plus what a waiting next() took directly
      expect(failure?.code).toBe('BACKEND')
      expect(failure?.name).toBe('WatchOverflowError')
      expect(failure?.message).toMatch(/maxBuffered/)
    })

    it('emits no event for a write that fails (conflict, not a number, failed check), only for the next good one', async () => {
      const { cubby } = await setup(target)
      const store = cubby.scope('wfail')
      const stale = await store.set('k', 1)
      await store.set('k', 2)
      await store.set('text', 'not a number')
      const watch = store.watch()
      await watch.ready
      const seen = collect(watch)
      expect((await rejection(store.set('k', 3, { ifVersion: stale }))).code).toBe('CONFLICT')
      expect((await rejection(store.set('new', 3, { ifVersion: stale }))).code).toBe('CONFLICT')
      expect((await rejection(store.delete('k', { ifVersion: stale }))).code).toBe('CONFLICT')
      expect((await rejection(store.incr('text'))).code).toBe('INVALID_VALUE')
      expect((await rejection(store.atomic().set('a', 1).delete('k').incr('text').commit())).code).toBe('INVALID_VALUE')
      expect(await store.atomic().set('a', 1).delete('k').check('k', stale).commit()).toEqual({ ok: false })
      expect(await store.atomic().check('k', null).set('b', 1).commit()).toEqual({ ok: false })
      await store.set('good', 1)
      await waitFor(() => seen.events.length >= 1, 'the good write')
      await store.set('good', 2) // a second good write: if anything else were queued, it would come before this
      await waitFor(() => seen.events.length >= 2, 'the second good write')
      expect(brief(seen.events)).toEqual(['set:good', 'set:good'])
      watch.close()
    })

    gatedIt(capabilities, ['watch', 'quotas'], 'emits no event for a write a quota rejects', async () => {
      const { cubby } = await setup(target, { quotas: { user: { maxKeys: 2 } } })
      const user = cubby.stores({ plugin: 'wq', user: 'u' }).user!
      await user.setMany({ a: 1, b: 1 })
      const watch = user.watch()
      await watch.ready
      const seen = collect(watch)
      expect((await rejection(user.set('c', 1))).code).toBe('QUOTA_EXCEEDED')
      expect((await rejection(user.setMany({ a: 2, c: 1 }))).code).toBe('QUOTA_EXCEEDED')
      expect((await rejection(user.atomic().set('a', 3).set('d', 1).commit())).code).toBe('QUOTA_EXCEEDED')
      expect((await rejection(user.incr('e'))).code).toBe('QUOTA_EXCEEDED')
      await user.set('a', 'good')
      await waitFor(() => seen.events.length >= 1, 'the good write')
      await user.set('b', 'good')
      await waitFor(() => seen.events.length >= 2, 'the second good write')
      expect(brief(seen.events)).toEqual(['set:a', 'set:b'])
      watch.close()
    })

    it('rejects bad watch options', async () => {
      const { cubby } = await setup(target)
      const store = cubby.scope('wb')
      for (const args of [
        [{ keys: 'a' }],
        [{ keys: [''] }],
        [{}, { maxBuffered: 0 }],
        [{ prefix: 5 }],
        [{ prefix: '\uD800' }],
        [{ prefix: 'p'.repeat(2000) }],
        [{}, { signal: {} }],
        [{ prefx: 'a' }],
        [{}, { maxbuffered: 5 }],
      ]) {
        const watch = store.watch(...(args as [never, never]))
        expect((await rejection(watch.ready)).code).toMatch(/INVALID_CONFIG|INVALID_KEY/)
      }
    })
  })
}
