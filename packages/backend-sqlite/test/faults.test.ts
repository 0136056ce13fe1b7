import { join } from 'node:path'
import { openCubby } from '@cubby/core'
import Database from 'better-sqlite3'
import { expect, it } from 'vitest'
import { SCHEMA_VERSION } from '../src/schema.js'
import { tempDir } from './support.js'

const dir = tempDir()

it('fails writes with BACKEND, not a crash, when the database is full', async () => {
  const cubby = await openCubby({ url: `sqlite:${join(dir, 'full.db')}`, maxSizeBytes: 200_000 })
  const store = cubby.scope('full')
  let failure: { code?: string; message?: string } | undefined
  for (let i = 0; i < 1000 && !failure; i++) {
    await store.set(`k${i}`, 'x'.repeat(4000)).catch((error: { code?: string }) => {
      failure = error
    })
  }
  expect(failure?.code).toBe('BACKEND')
  expect(failure?.message).toMatch(/full/)
  expect(await store.get('k0')).toBe('x'.repeat(4000)) // reads still work
  expect(await store.delete('k0')).toBe(true) // and so does freeing space
  await cubby.close()
})

it('fails writes with BACKEND on a read-only database, and keeps serving reads', async () => {
  const file = join(dir, 'ro.db')
  const writer = await openCubby(`sqlite:${file}`)
  await writer.scope('s').set('k', 'v')
  await writer.close()
  const reader = await openCubby({ url: `sqlite:${file}`, readOnly: true })
  expect(await reader.scope('s').get('k')).toBe('v')
  const error = await reader
    .scope('s')
    .set('k', 'w')
    .catch((e: { code?: string; message?: string }) => e)
  expect(error).toMatchObject({ code: 'BACKEND' })
  expect((error as Error).message).toMatch(/read-only/)
  expect(await reader.scope('s').get('k')).toBe('v')
  await reader.close()
})

it('refuses a database written by a newer schema, and reports a file it cannot open', async () => {
  const file = join(dir, 'future.db')
  const raw = new Database(file)
  raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`)
  raw.close()
  await expect(openCubby(`sqlite:${file}`)).rejects.toMatchObject({
    code: 'BACKEND',
    message: expect.stringMatching(/newer/),
  })
  await expect(openCubby(`sqlite:${join(dir, 'not-a-dir.db', 'x.db')}`)).resolves.toBeDefined() // folders are created
  const junk = join(dir, 'junk.db')
  const { writeFileSync } = await import('node:fs')
  writeFileSync(junk, 'this is not a database, just some text long enough to have a header'.repeat(100))
  await expect(openCubby(`sqlite:${junk}`)).rejects.toMatchObject({
    code: 'BACKEND',
    message: expect.stringMatching(/not a SQLite database|corrupt/),
  })
})
