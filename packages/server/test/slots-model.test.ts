import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Session } from '../src/access.js'
import { ConnectionSlots } from '../src/slots.js'

/** One step a hostile (or just busy) set of clients can take against the slot accounting. */
type Step =
  | { op: 'open'; address: number }
  | { op: 'claim'; connection: number; context: number }
  | { op: 'close'; connection: number }

const MAX_UNAUTHENTICATED = 5
const MAX_PER_ADDRESS = 2
const MAX_PER_CONTEXT = 2
const CONTEXTS: Session[] = [
  { root: true } as Session,
  { root: false, workspace: 'w', plugin: 'p' } as Session,
  { root: false, workspace: 'w', plugin: 'p', user: 'u' } as Session,
]

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ op: fc.constant('open' as const), address: fc.nat(3) }),
  fc.record({ op: fc.constant('claim' as const), connection: fc.nat(20), context: fc.nat(CONTEXTS.length - 1) }),
  fc.record({ op: fc.constant('close' as const), connection: fc.nat(20) }),
)

/**
 * The rules written out the slow, obvious way: every open connection with its address and the contexts it holds.
 * The class must agree with it after every step, whatever the order of opens, claims (repeated, or after close) and
 * closes (repeated, or of a connection that never authenticated).
 */
class Model {
  readonly open = new Map<object, { address: string; contexts: Set<number> }>()

  unauthenticated(address?: string): number {
    let count = 0
    for (const connection of this.open.values()) {
      if (connection.contexts.size === 0 && (address === undefined || connection.address === address)) count++
    }
    return count
  }

  holders(context: number): number {
    let count = 0
    for (const connection of this.open.values()) if (connection.contexts.has(context)) count++
    return count
  }
}

describe('ConnectionSlots against a model', () => {
  it('never lets an address or the whole budget hold more unauthenticated slots than allowed, and frees every slot', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 20, maxLength: 120 }), (steps) => {
        const slots = new ConnectionSlots(MAX_UNAUTHENTICATED, MAX_PER_CONTEXT, MAX_PER_ADDRESS)
        const model = new Model()
        const connections: object[] = []
        for (const s of steps) {
          if (s.op === 'open') {
            const address = `10.0.0.${s.address}`
            const expected =
              model.unauthenticated() >= MAX_UNAUTHENTICATED
                ? 'unauthenticated'
                : model.unauthenticated(address) >= MAX_PER_ADDRESS
                  ? 'address'
                  : undefined
            expect(slots.refusal(address)).toBe(expected)
            if (expected === undefined) {
              const connection = {}
              connections.push(connection)
              slots.opened(connection, address)
              model.open.set(connection, { address, contexts: new Set() })
            }
          } else {
            const connection = connections[s.connection]
            const state = connection && model.open.get(connection)
            if (!connection || !state) continue // never opened, or closed: the server sends it nothing more
            if (s.op === 'claim') {
              const allowed = state.contexts.has(s.context) || model.holders(s.context) < MAX_PER_CONTEXT
              expect(slots.claim(connection, CONTEXTS[s.context]!)).toBe(allowed)
              if (allowed) state.contexts.add(s.context)
            } else {
              slots.closed(connection)
              slots.closed(connection) // a second close (error then close events) must not free anyone else's slot
              model.open.delete(connection)
            }
          }
        }
        // Everything closed: the full budget is free again for every address and context.
        for (const connection of [...model.open.keys()]) {
          slots.closed(connection)
          model.open.delete(connection)
        }
        for (let a = 0; a < 4; a++) expect(slots.refusal(`10.0.0.${a}`)).toBeUndefined()
        for (const context of CONTEXTS) {
          const fresh = Array.from({ length: MAX_PER_CONTEXT }, () => ({}))
          for (const connection of fresh) expect(slots.claim(connection, context)).toBe(true)
          expect(slots.claim({}, context)).toBe(false)
          for (const connection of fresh) slots.closed(connection)
        }
      }),
      { numRuns: 300 },
    )
  })
})
