import { describe, expect, it } from 'vitest'
import { RunnerClient } from '../src/runners/runner-client.ts'
import { JPEG_8x8 } from './fixtures.ts'

/** A runner that gives every request the same answer. */
const answering = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new RunnerClient(
    'http://runner',
    (async () =>
      new Response(typeof body === 'string' ? body : JSON.stringify(body), {
        status,
        headers: { 'content-type': 'application/json', ...headers },
      })) as typeof fetch,
  )

describe('RunnerClient reads every answer through the shared contracts', () => {
  it("passes on a runner's error body (code, message, faulty image) with its status", async () => {
    const client = answering(422, { error: 'premature end of JPEG', code: 'corrupt_image', image: 1 })
    expect(await client.infer('fixture', [JPEG_8x8, JPEG_8x8], 'req-1')).toEqual({
      ok: false,
      status: 422,
      retryable: false,
      error: { code: 'corrupt_image', message: 'premature end of JPEG', image: 1 },
    })
  })

  it('answers a full queue as retryable queue_full with the Retry-After seconds', async () => {
    const result = await answering(429, { error: 'queue full', code: 'queue_full' }, { 'retry-after': '3' }).infer('fixture', [JPEG_8x8], 'req-1')
    expect(result).toMatchObject({ ok: false, status: 429, retryable: true, error: { code: 'queue_full', message: 'queue full', retryAfterSeconds: 3 } })
  })

  it('does not trust an error body that is not an InferError', async () => {
    const result = await answering(400, { message: 'bad request', image: 'first' }).infer('fixture', [JPEG_8x8], 'req-1')
    expect(result).toEqual({ ok: false, status: 400, retryable: false, error: { code: 'runner_error', message: 'runner answered 400' } })
  })

  it('refuses a success body that breaks the contract as runner_error', async () => {
    expect(await answering(200, { name: 'fixture', platform: 'onnx' }).metadata('fixture')).toEqual({
      ok: false,
      status: 502,
      retryable: false,
      error: { code: 'runner_error', message: 'runner sent an invalid model metadata' },
    })
    const wrongShape = { model_name: 'fixture', outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [3, 2], data: [0, 1, 0, 1, 0, 1] }] }
    expect(await answering(200, wrongShape).infer('fixture', [JPEG_8x8], 'req-1')).toMatchObject({ ok: false, error: { code: 'runner_error' } })
  })

  it('counts a runner as ready only when it answers 200 with ready: true', async () => {
    expect(await answering(200, { ready: true }).ready()).toBe(true)
    expect(await answering(200, { ready: false }).ready()).toBe(false)
    expect(await answering(200, { live: true }).ready()).toBe(false)
    expect(await answering(503, { ready: false }).ready()).toBe(false)
    expect(await answering(200, 'OK').ready()).toBe(false)
    const unreachable = new RunnerClient('http://runner', (async () => {
      throw new TypeError('fetch failed')
    }) as typeof fetch)
    expect(await unreachable.ready()).toBe(false)
    expect(await unreachable.models()).toMatchObject({ ok: false, status: 503, retryable: true, error: { code: 'runner_unreachable' } })
  })
})
