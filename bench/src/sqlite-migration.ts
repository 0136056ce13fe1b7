/**
 * `npm run bench:sqlite-migration -w @cubby/bench` (after a build): how long the SQLite schema-3 step (the user
 * level, packages/backend-sqlite/src/user-level-migration.ts) takes on stores of growing size.
 * Options: --users 10000,50000,100000 (users per store), --keys 10 (keys per user), --reps 3.
 *
 * Each store is written in the layout before the user level: users' data at `[workspace, plugin, user]` (what
 * `scope(user)` names, so the current code can write it), spread over 3 plugins, then marked schema version 2 so
 * the next open migrates it. The figure is the time of that open (on a fresh copy each rep), and the median is kept.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { openCubby } from '@cubby/core'
import Database from 'better-sqlite3'

const { values: args } = parseArgs({
  options: {
    users: { type: 'string', default: '10000,50000,100000' },
    keys: { type: 'string', default: '10' },
    reps: { type: 'string', default: '3' },
  },
})
const keysPerUser = Number(args.keys)
const reps = Number(args.reps)
const scratch = mkdtempSync(join(tmpdir(), 'cubby-bench-migration-'))

/** Writes a legacy-layout store of `users` users and returns its file. */
async function legacyStore(users: number): Promise<string> {
  const file = join(scratch, `legacy-${users}.db`)
  const cubby = await openCubby({ url: `sqlite:${file}`, sweepIntervalMs: 2_000_000_000 })
  const value = { title: 'a to-do item', done: false, tags: ['home'] }
  for (let start = 0; start < users; start += 100) {
    const batch = Array.from({ length: Math.min(100, users - start) }, (_, i) => start + i)
    await Promise.all(
      batch.map((u) => {
        const scope = cubby.scope('acme', `plugin${u % 3}`, `user${u}`)
        const entries = Array.from({ length: keysPerUser }, (_, k) => [`item:${k}`, value] as [string, unknown])
        return scope.setMany(entries, u % 10 === 0 ? { ttl: 86_400_000 } : undefined)
      }),
    )
  }
  await cubby.close()
  const db = new Database(file)
  db.pragma('user_version = 2')
  db.close()
  return file
}

const rows: string[] = []
try {
  for (const users of args.users.split(',').map(Number)) {
    const legacy = await legacyStore(users)
    const times: number[] = []
    for (let rep = 0; rep < reps; rep++) {
      const file = join(scratch, `copy-${users}-${rep}.db`)
      copyFileSync(legacy, file)
      const started = performance.now()
      const cubby = await openCubby({ url: `sqlite:${file}`, sweepIntervalMs: 2_000_000_000 })
      times.push(performance.now() - started)
      await cubby.close()
      rmSync(file, { force: true })
    }
    times.sort((a, b) => a - b)
    const median = times[Math.floor(times.length / 2)]!
    rows.push(
      `| ${users} | ${users * keysPerUser} | ${median.toFixed(0)} ms | ${times.map((t) => t.toFixed(0)).join(', ')} |`,
    )
    process.stderr.write(`  ${users} users: ${median.toFixed(0)} ms\n`)
  }
  process.stdout.write(
    `| users | entries | open + migrate (median) | runs (ms) |\n| ----- | ------- | ----------------------- | --------- |\n${rows.join('\n')}\n`,
  )
} finally {
  rmSync(scratch, { recursive: true, force: true })
}
