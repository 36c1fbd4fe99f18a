import { describe, expect, it } from 'vitest'
import { CodedError } from '../src/coded-error.ts'

class ParseError extends CodedError<'bad_header' | 'truncated'> {}

describe('CodedError', () => {
  it('keeps the stable code, the message, the cause and the subclass name a log shows', () => {
    const cause = new Error('disk')
    const error = new ParseError('truncated', 'file.png ends after 12 bytes', { cause })
    expect(error).toBeInstanceOf(ParseError)
    expect(error).toBeInstanceOf(Error)
    expect(error.code).toBe('truncated')
    expect(error.message).toBe('file.png ends after 12 bytes')
    expect(error.cause).toBe(cause)
    expect(error.name).toBe('ParseError')
    expect(String(error)).toBe('ParseError: file.png ends after 12 bytes')
  })
})
