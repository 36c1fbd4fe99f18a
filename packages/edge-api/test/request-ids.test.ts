import { DetectResponse, ErrorResponse } from '@genimage/shared'
import { describe, expect, it } from 'vitest'
import { correlationIdOf } from '../src/middleware/observe.ts'
import { edgeWith, form, JPEG_8x8, oipPeer } from './fixtures.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

describe('request ids: the edge names each request, a client only correlates', () => {
  it('gives two requests sending the same x-request-id two request ids, and keeps the client value as correlation_id', async () => {
    const { app, rows } = await edgeWith({ r1: oipPeer() })
    const send = () =>
      app.request('/v1/detect', { method: 'POST', body: form([{ name: 'image', value: JPEG_8x8 }]), headers: { 'x-request-id': 'batch-42.a' } })
    const [first, second] = [await send(), await send()]
    const ids = [first, second].map((res) => res.headers.get('x-request-id'))
    expect(ids[0]).toMatch(UUID)
    expect(ids[1]).toMatch(UUID)
    expect(ids[0]).not.toBe(ids[1])
    expect([first, second].map((res) => res.headers.get('x-correlation-id'))).toEqual(['batch-42.a', 'batch-42.a'])
    const answers = [DetectResponse.parse(await first.json()), DetectResponse.parse(await second.json())]
    expect(answers.map((a) => a.id)).toEqual(ids)
    const stored = await rows()
    expect(new Set(stored.map((r) => r.requestId)).size).toBe(2)
    expect(stored.map((r) => r.correlationId)).toEqual(['batch-42.a', 'batch-42.a'])
  })

  it('echoes the correlation id on errors too, beside its own request id', async () => {
    const { app } = await edgeWith({ r1: oipPeer() })
    const res = await app.request('/v1/detect', { method: 'POST', body: form([{ name: 'model', value: 'x' }]), headers: { 'x-request-id': 'trace-9' } })
    expect(res.status).toBe(400)
    expect(res.headers.get('x-correlation-id')).toBe('trace-9')
    expect(ErrorResponse.parse(await res.json()).request_id).toBe(res.headers.get('x-request-id'))
  })

  it('ignores a client value that is too long or not printable ASCII, and stores no correlation id then', async () => {
    const { app, rows } = await edgeWith({ r1: oipPeer() })
    const res = await app.request('/v1/detect', {
      method: 'POST',
      body: form([{ name: 'image', value: JPEG_8x8 }]),
      headers: { 'x-request-id': 'x'.repeat(129) },
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-correlation-id')).toBe(null)
    expect((await rows())[0]?.correlationId).toBe(null)
    expect(correlationIdOf('x'.repeat(128))).toBe('x'.repeat(128))
    for (const bad of ['', ' lead', 'trail ', 'tab\there', 'ünïcode', 'nul\u0000', '<\u202eevil>', 'x'.repeat(129)])
      expect(correlationIdOf(bad), bad).toBe(undefined)
    expect(correlationIdOf('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toBeDefined()
  })
})
