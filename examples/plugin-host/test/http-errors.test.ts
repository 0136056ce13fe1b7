import {
  BackendError,
  ClosedError,
  ConflictError,
  InvalidConfigError,
  InvalidKeyError,
  InvalidScopeError,
  NoContextError,
  QuotaExceededError,
  SerializationError,
  UnsupportedError,
  ValueTooLargeError,
} from '@cubby/core'
import { describe, expect, it } from 'vitest'
import { errorReply } from '../src/http-errors.js'
import { HttpError } from '../src/plugin.js'

describe('errorReply', () => {
  it('maps every CubbyError code to a status, with the code in the body', () => {
    const cases: [Error, number][] = [
      [new InvalidKeyError('k'), 400],
      [new InvalidScopeError('s'), 400],
      [new SerializationError('v'), 400],
      [new InvalidConfigError('list.cursor', 'bad'), 400],
      [new NoContextError('no user'), 401],
      [new ConflictError('k'), 409],
      [new ValueTooLargeError('k', 10, 5), 413],
      [new QuotaExceededError({ scope: ['a'], dimension: 'keys', limit: 1, used: 1, requested: 1 }), 413],
      [new UnsupportedError('x'), 501],
      [new BackendError('down'), 503],
      [new ClosedError(), 503],
      [new HttpError(418, 'TEAPOT', 'short and stout'), 418],
    ]
    for (const [error, status] of cases) {
      const reply = errorReply(error)
      expect(reply.status, error.name).toBe(status)
      expect(reply.expected).toBe(true)
      expect(reply.body.error.code).toBe((error as unknown as { code: string }).code)
    }
    expect(errorReply(new NoContextError('x'), 'x-who').body.error.message).toContain('x-who')
  })

  it('hides unexpected errors behind a 500', () => {
    const reply = errorReply(new TypeError('secret detail'))
    expect(reply).toEqual({
      status: 500,
      body: { error: { code: 'INTERNAL', message: 'internal error' } },
      expected: false,
    })
  })
})
