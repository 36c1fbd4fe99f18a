import type { MiddlewareHandler } from 'hono'
import { ApiError } from '../errors.ts'

export interface ByteLimitOptions {
  maxBytes: number
  /**
   * How much of an oversize body is read and thrown away before answering 413, so that clients which finish
   * sending before they read (fetch does) get the answer instead of a reset connection. Beyond this the
   * connection is cut.
   */
  drainBytes?: number
}

/**
 * Refuses request bodies over `maxBytes` with 413 `payload_too_large`, by declared length or, for chunked
 * bodies, by counting. Never holds more than `maxBytes` of an oversize body. A body whose declared length is
 * within the limit is passed on untouched.
 */
export const byteLimit = (options: ByteLimitOptions): MiddlewareHandler => {
  const drainBytes = options.drainBytes ?? options.maxBytes * 4
  const tooLarge = () => new ApiError('payload_too_large', `request body is over the limit of ${options.maxBytes} bytes`)
  return async function byteLimit(c, next) {
    const declared = Number(c.req.header('content-length') ?? Number.NaN)
    // A body framed by its declared length cannot outgrow it (the HTTP server reads exactly that many bytes,
    // and refuses a request that also says Transfer-Encoding), so nothing needs counting. Not touching
    // `body` here keeps the runtime's own fast body read (on Node, straight from the socket, no web streams).
    if (declared <= options.maxBytes && !c.req.header('transfer-encoding')) return next()
    const body = c.req.raw.body
    if (!body) return next()
    if (declared > options.maxBytes) {
      if (declared <= drainBytes) await discard(body, drainBytes)
      throw tooLarge()
    }
    let seen = 0
    let overflowed = false
    const counted = body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          seen += chunk.byteLength
          if (seen > options.maxBytes) {
            overflowed = true
            controller.error(tooLarge())
            return
          }
          controller.enqueue(chunk)
        },
      }),
    )
    c.req.raw = new Request(c.req.raw, { body: counted, duplex: 'half' } as RequestInit)
    try {
      await next()
    } catch (error) {
      if (overflowed) throw tooLarge()
      throw error
    }
    if (overflowed) throw tooLarge()
  }
}

async function discard(body: ReadableStream<Uint8Array>, limit: number): Promise<void> {
  const reader = body.getReader()
  let read = 0
  try {
    while (read <= limit) {
      const { done, value } = await reader.read()
      if (done) return
      read += value.byteLength
    }
  } finally {
    await reader.cancel().catch(() => {})
  }
}
