/** One dispatched Server-Sent Event (WHATWG HTML, "Interpreting an event stream"). */
export interface ServerSentEvent {
  /** The `event:` field, `message` when the block names none. */
  event: string
  /** The `data:` lines joined with `\n`. */
  data: string
  /** The last `id:` seen on the stream so far, if any. */
  id?: string
  /** A `retry:` reconnection time in milliseconds, when this block set one. */
  retry?: number
}

/**
 * Incremental event-stream parser: feed it decoded text in chunks of any size and it returns the events that
 * chunk completed. Lines end with LF, CRLF or CR (a CRLF split across chunks counts once); `:` lines are comments;
 * several `data:` lines join with `\n`; a block without data dispatches nothing.
 *
 * @example
 * const parser = new ServerSentEventParser()
 * parser.push('event: progress\ndata: {"a":1}\n') // []
 * parser.push('\n') // [{ event: 'progress', data: '{"a":1}' }]
 */
export class ServerSentEventParser {
  private line = ''
  private afterCarriageReturn = false
  private started = false
  private event = ''
  private data: string[] = []
  private retry: number | undefined
  private lastId: string | undefined

  /** Parses one chunk of text; returns the events it completed, in order. */
  push(chunk: string): ServerSentEvent[] {
    let text = chunk
    if (!this.started && text.length > 0) {
      this.started = true
      if (text.startsWith('\uFEFF')) text = text.slice(1)
    }
    const events: ServerSentEvent[] = []
    let start = 0
    for (let i = 0; i < text.length; i++) {
      const char = text[i]
      if (char !== '\n' && char !== '\r') continue
      if (char === '\n' && i === start && this.afterCarriageReturn) {
        this.afterCarriageReturn = false
        start = i + 1
        continue
      }
      const event = this.endLine(this.line + text.slice(start, i))
      if (event) events.push(event)
      this.line = ''
      this.afterCarriageReturn = char === '\r'
      start = i + 1
    }
    if (start < text.length) {
      this.line += text.slice(start)
      this.afterCarriageReturn = false
    }
    return events
  }

  private endLine(line: string): ServerSentEvent | undefined {
    if (line === '') return this.dispatch()
    if (line.startsWith(':')) return undefined
    const colon = line.indexOf(':')
    const field = colon < 0 ? line : line.slice(0, colon)
    let value = colon < 0 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'event') this.event = value
    else if (field === 'data') this.data.push(value)
    else if (field === 'id' && !value.includes('\0')) this.lastId = value
    else if (field === 'retry' && /^\d+$/.test(value)) this.retry = Number(value)
    return undefined
  }

  private dispatch(): ServerSentEvent | undefined {
    const event: ServerSentEvent = { event: this.event || 'message', data: this.data.join('\n') }
    if (this.lastId !== undefined) event.id = this.lastId
    if (this.retry !== undefined) event.retry = this.retry
    const hasData = this.data.length > 0
    this.event = ''
    this.data = []
    this.retry = undefined
    return hasData ? event : undefined
  }
}

/**
 * The events of an SSE response body, as they arrive. Leaving the loop early (`break`, `return`, a throw) cancels
 * the body, which closes the connection.
 *
 * @example
 * for await (const { event, data } of readServerSentEvents(response.body!)) if (event === 'end') break
 */
export async function* readServerSentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerSentEvent, void, undefined> {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  const parser = new ServerSentEventParser()
  let finished = false
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) {
        finished = true
        yield* parser.push(decoder.decode())
        return
      }
      yield* parser.push(decoder.decode(value, { stream: true }))
    }
  } finally {
    if (!finished) await reader.cancel().catch(() => undefined)
    reader.releaseLock()
  }
}
