import { randomBytes } from 'node:crypto'
import { Op } from '@cubby/backend-remote/wire'
import { waitFor } from '@cubby/conformance'
import { type Cubby, openCubby } from '@cubby/core'
import { rawScopeAt } from '@cubby/core/raw'
import { Keyring, mintToken, type Permission } from '@cubby/server'
import fc from 'fast-check'
import { SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import { Probe } from './probe.js'
import { openRemote, startServer } from './support.js'

const W = 'w'
const P = 'p'
const ME = 'alice'

/** Every stored (path, key, version) of the store, walked from the root through core's raw door. */
async function snapshot(cubby: Cubby): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  const walk = async (path: string[]): Promise<void> => {
    const raw = rawScopeAt(cubby, path)
    if (!(path.length === 3 && path[2] === '')) {
      for (const entry of await raw.list({ reverse: false, values: false, limit: 1000 })) {
        out.set(JSON.stringify([...path, entry.key]), entry.version)
      }
    }
    for (const name of await raw.scopes({ limit: 1000 })) await walk([...path, name])
  }
  await walk([])
  return out
}

/** Whether a stored path lies in the token's context. */
function inside(path: string[], user: string | undefined): boolean {
  if (path[0] !== W || path[1] !== P) return false
  if (path.length > 3 && path[2] === '') return user !== undefined && path[3] === user
  return true
}

/** Seeds data everywhere around the context; everything outside is marked "secret". */
async function seed(cubby: Cubby): Promise<void> {
  const put = async (view: ReturnType<Cubby['scope']>, value: string) => {
    await view.set('k', value)
    await view.set('secret-k', value)
    await view.scope('sub').set('k', value)
  }
  await put(cubby.scope('secret-w2', P), 'SECRET')
  await put(cubby.scope(W, 'secret-p2'), 'SECRET')
  await put(cubby.scope(W), 'SECRET')
  await put(cubby.scope('secret-top'), 'SECRET')
  await put(cubby.scope(W, P).user('secret-bob'), 'SECRET')
  await put(cubby.scope(W, P).user('bob'), 'SECRET')
  await put(cubby.scope(W, 'secret-p2').user(ME), 'SECRET')
  await put(cubby.scope('secret-w2', P).user(ME), 'SECRET')
  await cubby.scope(W, P).set('mine', 'ok')
  await cubby.scope(W, P).scope('sub').set('mine', 'ok')
}

const userSecret = (user: string | undefined) => async (cubby: Cubby) => {
  // A plugin token without a user must not reach Alice either.
  if (user === undefined) await cubby.scope(W, P).user(ME).set('secret-mine', 'SECRET')
}

const segment = fc.oneof(
  fc.constantFrom(
    '',
    W,
    P,
    ME,
    'bob',
    'secret-bob',
    'secret-w2',
    'secret-p2',
    'secret-top',
    'sub',
    '..',
    '.',
    '%',
    '/',
    '\u0000',
  ),
  fc.string({ maxLength: 6 }),
)
const relPath = fc.array(segment, { maxLength: 10 })
const key = fc.oneof(fc.constantFrom('k', 'secret-k', 'mine', '', '..', '\uffff'), fc.string({ maxLength: 8 }))

type Cmd =
  | { op: 'get'; rel: string[]; keys: string[] }
  | { op: 'list'; rel: string[]; prefix?: string }
  | { op: 'scopes'; rel: string[] }
  | { op: 'usage'; rel: string[] }
  | { op: 'set' | 'delete' | 'incr'; rel: string[]; key: string }
  | { op: 'clear' | 'drop' | 'watch'; rel: string[] }

const command: fc.Arbitrary<Cmd> = fc.oneof(
  fc.record({ op: fc.constant('get' as const), rel: relPath, keys: fc.array(key, { minLength: 1, maxLength: 3 }) }),
  fc.record({ op: fc.constant('list' as const), rel: relPath, prefix: fc.option(key, { nil: undefined }) }),
  fc.record({ op: fc.constantFrom('scopes' as const, 'usage' as const), rel: relPath }),
  fc.record({ op: fc.constantFrom('set' as const, 'delete' as const, 'incr' as const), rel: relPath, key }),
  fc.record({ op: fc.constantFrom('clear' as const, 'drop' as const, 'watch' as const), rel: relPath }),
)

/** Sends one hostile command; returns the answer's error code (undefined on success) and the result frame. */
async function run(probe: Probe, cmd: Cmd) {
  const body =
    (extra: (w: import('@cubby/backend-remote/wire').FrameWriter) => void) =>
    (w: import('@cubby/backend-remote/wire').FrameWriter) => {
      w.path(cmd.rel)
      extra(w)
    }
  switch (cmd.op) {
    case 'get':
      return probe.send(
        Op.GET,
        1,
        body((w) => {
          w.u8(1).u32(cmd.keys.length)
          for (const k of cmd.keys) w.str(k)
        }),
      )
    case 'list':
      return probe.send(
        Op.LIST,
        1,
        body((w) => {
          w.u8(2 | (cmd.prefix !== undefined ? 4 : 0)).u32(100)
          if (cmd.prefix !== undefined) w.str(cmd.prefix)
        }),
      )
    case 'scopes':
      return probe.send(
        Op.SCOPES,
        1,
        body((w) => w.u32(100).u8(0)),
      )
    case 'usage':
      return probe.send(
        Op.USAGE,
        1,
        body(() => {}),
      )
    case 'set':
    case 'delete':
    case 'incr':
      return probe.send(
        Op.WRITE,
        1,
        body((w) => {
          w.u32(0).u32(1)
          if (cmd.op === 'set') w.u8(1).str(cmd.key).bytes(new TextEncoder().encode('"x"')).u8(0)
          else if (cmd.op === 'delete') w.u8(2).str(cmd.key)
          else w.u8(3).str(cmd.key).f64(1).u8(0)
          w.u32(0)
        }),
      )
    case 'clear':
      return probe.send(
        Op.CLEAR,
        1,
        body(() => {}),
      )
    case 'drop':
      return probe.send(
        Op.DROP,
        1,
        body(() => {}),
      )
    case 'watch':
      return probe.send(
        Op.WATCH,
        1,
        body(() => {}),
      )
  }
}

const NEEDS: Record<Cmd['op'], Permission> = {
  get: 'read',
  list: 'read',
  scopes: 'read',
  usage: 'read',
  set: 'write',
  delete: 'write',
  incr: 'write',
  clear: 'write',
  drop: 'write',
  watch: 'watch',
}

const SUBSETS: Permission[][] = [
  [],
  ['read'],
  ['write'],
  ['watch'],
  ['read', 'write'],
  ['read', 'watch'],
  ['write', 'watch'],
  ['read', 'write', 'watch'],
]

describe('tokens confine every call to their context', () => {
  for (const user of [undefined, ME]) {
    for (const access of SUBSETS) {
      it(`${user ? 'plugin + user' : 'plugin only'} token with [${access.join(', ')}]: nothing outside is read, listed, counted, watched or written`, async () => {
        await fc.assert(
          fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 6 }), async (cmds) => {
            const local = await openCubby('memory:')
            const { port, token, server } = await startServer(local, { allowRoot: false })
            try {
              await seed(local)
              await userSecret(user)(local)
              const probe = await Probe.open(port)
              try {
                expect(await probe.auth(1, await token({ workspace: W, plugin: P, user, access }))).toBeUndefined()
                const outside = (snap: Map<string, string>) =>
                  [...snap].filter(([path]) => !inside(JSON.parse(path), user)).sort()
                const before = outside(await snapshot(local))
                for (const cmd of cmds) {
                  const answer = await run(probe, cmd)
                  if (!access.includes(NEEDS[cmd.op])) expect(answer.code).toBeDefined()
                  if (answer.code === undefined) {
                    expect(answer.frame.toString('latin1').toLowerCase()).not.toContain('secret')
                    if (cmd.op === 'usage') {
                      const used = answer.reader.f64()
                      const own = [...(await snapshot(local)).keys()].filter((path) => inside(JSON.parse(path), user))
                      expect(used).toBeLessThanOrEqual(own.length)
                    }
                  }
                  expect(outside(await snapshot(local))).toEqual(before)
                }
                // Outside writes after the watches started must reach none of them.
                await seed(local)
                await userSecret(user)(local)
                await local.scope(W, P).set('zz-marker', 1)
                if (access.includes('watch') && cmds.some((c) => c.op === 'watch' && c.rel.length === 0)) {
                  await waitFor(() => probe.events.some((e) => e.includes('zz-marker')), 'the marker event')
                }
                for (const event of probe.events) expect(event.toString('latin1').toLowerCase()).not.toContain('secret')
              } finally {
                probe.close()
              }
            } finally {
              await server.close()
              await local.close()
            }
          }),
          { numRuns: 25 },
        )
      })
    }
  }
})

describe('bad tokens are refused and write nothing', () => {
  const secret = randomBytes(32)
  const keys = new Keyring({
    keys: [
      { kid: 'new', secret: randomBytes(32) },
      { kid: 'old', secret },
    ],
    retired: ['old'],
  })
  const sign = (kid: string, key: Uint8Array, exp: number) =>
    new SignJWT({ cw: W, cp: P, acc: ['read', 'write', 'watch'] })
      .setProtectedHeader({ alg: 'HS256', kid, typ: 'cubby+jwt' })
      .setExpirationTime(exp)
      .sign(key)

  const cases: Array<[string, () => Promise<string>]> = [
    ['missing', async () => ''],
    ['garbage', async () => 'not.a.token'],
    [
      'expired',
      async () =>
        sign(
          'new',
          (keys as unknown as { keys: Map<string, Uint8Array> }).keys.get('new')!,
          Math.floor(Date.now() / 1000) - 10,
        ),
    ],
    [
      'tampered',
      async () => {
        const good = await mintToken({ workspace: W, plugin: P, access: ['read'], expiresIn: '1h' }, keys)
        const [head, , sig] = good.split('.')
        const payload = Buffer.from(
          JSON.stringify({ cw: W, cp: P, acc: ['read', 'write', 'watch'], exp: 9e9 }),
        ).toString('base64url')
        return `${head}.${payload}.${sig}`
      },
    ],
    ['wrong key', async () => sign('new', randomBytes(32), Math.floor(Date.now() / 1000) + 3600)],
    ['unknown key id', async () => sign('other', randomBytes(32), Math.floor(Date.now() / 1000) + 3600)],
    ['retired key', async () => sign('old', secret, Math.floor(Date.now() / 1000) + 3600)],
    [
      'root token on a server without allowRoot',
      async () => mintToken({ root: true, access: ['read', 'write'], expiresIn: '1h' }, keys),
    ],
  ]

  for (const [name, make] of cases) {
    it(`${name}: UNAUTHORIZED on the wire and through openCubby, nothing written`, async () => {
      const local = await openCubby('memory:')
      const { port, url } = await startServer(local, { keys, allowRoot: false })
      const token = await make()
      const probe = await Probe.open(port)
      try {
        expect(await probe.auth(1, token)).toBe('UNAUTHORIZED')
        const answer = await probe.send(Op.WRITE, 1, (w) => {
          w.path([]).u32(0).u32(1).u8(1).str('k').bytes(new TextEncoder().encode('1')).u8(0).u32(0)
        })
        expect(answer.code).toBe('UNAUTHORIZED')
        expect((await probe.send(Op.GET, 7, (w) => w.path([]).u8(1).u32(1).str('k'))).code).toBe('UNAUTHORIZED')
      } finally {
        probe.close()
      }
      if (token !== '') {
        const error = await openRemote(url, token).then(
          () => undefined,
          (e: { code?: string }) => e,
        )
        expect(error?.code).toBe('UNAUTHORIZED')
      }
      expect((await snapshot(local)).size).toBe(0)
      await local.close()
    })
  }
})
