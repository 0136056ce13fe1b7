import { existsSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { CHECKPOINT_EVERY, FALLBACK_AUTOCHECKPOINT } from '../src/checkpointer.js'
import { exited, fixture, openSqlite, tempDir, waitFor } from './support.js'

const dir = tempDir()

describe('checkpoints off the write path', () => {
  it('starts a checkpoint thread after CHECKPOINT_EVERY commits, which checkpoints while writes go on', async () => {
    const file = join(dir, 'thread.db')
    const { cubby, internals } = await openSqlite(file)
    expect(internals.db.pragma('wal_autocheckpoint', { simple: true })).toBe(FALLBACK_AUTOCHECKPOINT)
    const store = cubby.scope('s')
    for (let i = 0; i < CHECKPOINT_EVERY - 1; i++) await store.set(`k${i}`, i)
    expect(internals.checkpointer?.stats.started).toBe(false)
    for (let i = 0; i < 2 * CHECKPOINT_EVERY; i++) await store.set(`m${i}`, i)
    expect(internals.checkpointer?.stats.started).toBe(true)
    await waitFor(() => (internals.checkpointer?.stats.checkpoints ?? 0) > 0, 'a checkpoint by the thread')
    expect(internals.checkpointer?.stats.lastError).toBeUndefined()
    expect(await store.get('m0')).toBe(0)
    expect((await store.usage()).keys).toBe(3 * CHECKPOINT_EVERY - 1)
    await cubby.close()
    expect(existsSync(`${file}-wal`)).toBe(false) // the writer closed last and checkpointed the WAL away
    const check = new Database(file, { readonly: true })
    expect(check.pragma('integrity_check', { simple: true })).toBe('ok')
    expect((check.prepare('SELECT count(*) AS n FROM entries').get() as { n: number }).n).toBe(3 * CHECKPOINT_EVERY - 1)
    check.close()
  })

  it('has no thread for :memory: or a read-only open', async () => {
    const memory = await openSqlite(':memory:')
    expect(memory.internals.checkpointer).toBeUndefined()
    await memory.cubby.close()
    const file = join(dir, 'ro.db')
    const writer = await openSqlite(file)
    await writer.cubby.scope('s').set('k', 1)
    await writer.cubby.close()
    const reader = await openSqlite(file, { readOnly: true })
    expect(reader.internals.checkpointer).toBeUndefined()
    await reader.cubby.close()
  })

  it('close() resolves in a process whose event loop has nothing else to do', async () => {
    const child = fixture('checkpoint-close.mjs', [join(dir, 'child.db')])
    let out = ''
    child.stdout?.on('data', (chunk) => {
      out += chunk
    })
    expect(await exited(child)).toBe(0)
    expect(out.trim()).toBe('closed')
  })
})
