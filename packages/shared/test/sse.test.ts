import { describe, expect, it } from 'vitest'
import { readServerSentEvents, ServerSentEventParser } from '../src/sse.ts'

const parseAll = (chunks: string[]) => {
  const parser = new ServerSentEventParser()
  return chunks.flatMap((chunk) => parser.push(chunk))
}

const STREAM = ': keep-alive\nevent: progress\nid: 1\ndata: {"step":1}\n\nevent: progress\ndata: line one\ndata: line two\n\nevent: end\ndata: {}\n\n'
const EXPECTED = [
  { event: 'progress', id: '1', data: '{"step":1}' },
  { event: 'progress', id: '1', data: 'line one\nline two' },
  { event: 'end', id: '1', data: '{}' },
]

describe('ServerSentEventParser', () => {
  it('parses whole blocks: comments skipped, data lines joined with a newline, the last id carried on', () => {
    expect(parseAll([STREAM])).toEqual(EXPECTED)
  })

  it('gives the same events however the stream is cut into chunks, down to one character at a time', () => {
    expect(parseAll([...STREAM])).toEqual(EXPECTED)
    for (let cut = 1; cut < STREAM.length; cut++) expect(parseAll([STREAM.slice(0, cut), STREAM.slice(cut)])).toEqual(EXPECTED)
  })

  it('accepts CRLF and CR line ends, also with a CRLF split across chunks', () => {
    const crlf = STREAM.replaceAll('\n', '\r\n')
    expect(parseAll([crlf])).toEqual(EXPECTED)
    expect(parseAll([...crlf])).toEqual(EXPECTED)
    expect(parseAll([STREAM.replaceAll('\n', '\r')])).toEqual(EXPECTED)
  })

  it('defaults the event name to message, keeps spaces after the first, and dispatches nothing for a block without data', () => {
    expect(parseAll(['\uFEFFdata:  two spaces\n\nevent: empty\n\nretry: 2500\ndata\n\n', 'data: unfinished'])).toEqual([
      { event: 'message', data: ' two spaces' },
      { event: 'message', data: '', retry: 2500 },
    ])
  })
})

describe('readServerSentEvents', () => {
  const bodyOf = (chunks: string[]) => {
    let cancelled = false
    const encoder = new TextEncoder()
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift()
        if (next === undefined) controller.close()
        else controller.enqueue(encoder.encode(next))
      },
      cancel() {
        cancelled = true
      },
    })
    return { body, cancelled: () => cancelled }
  }

  it('reads the events of a byte stream, a multi-byte character split between chunks included', async () => {
    const bytes = new TextEncoder().encode('data: GenImage–mini\n\n')
    const split = 15
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.subarray(0, split))
        controller.enqueue(bytes.subarray(split))
        controller.close()
      },
    })
    const events = []
    for await (const event of readServerSentEvents(body)) events.push(event)
    expect(events).toEqual([{ event: 'message', data: 'GenImage–mini' }])
  })

  it('cancels the body when the reader stops early', async () => {
    const stream = bodyOf(['event: a\ndata: 1\n\n', 'event: b\ndata: 2\n\n', 'event: c\ndata: 3\n\n'])
    const seen: string[] = []
    for await (const { event } of readServerSentEvents(stream.body)) {
      seen.push(event)
      if (event === 'b') break
    }
    expect(seen).toEqual(['a', 'b'])
    expect(stream.cancelled()).toBe(true)
  })
})
