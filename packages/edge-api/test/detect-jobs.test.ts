import { ErrorResponse } from '@genimage/shared'
import { describe, expect, it } from 'vitest'
import { edgeWith, form, PNG_8x8, oipPeer } from './fixtures.ts'

describe('async detect without a spool (Deno Deploy, workerd)', () => {
  it('answers 501 async_not_supported and stores nothing; sync detect still works', async () => {
    const { app, rows } = await edgeWith({ r1: oipPeer() })
    const res = await app.request('/v1/detect?async=true', { method: 'POST', body: form([{ name: 'image', value: PNG_8x8 }]) })
    expect(res.status).toBe(501)
    expect(ErrorResponse.parse(await res.json()).error.code).toBe('async_not_supported')
    const job = await app.request(`/v1/detect/jobs/${crypto.randomUUID()}`)
    expect(job.status).toBe(501)
    expect(await rows()).toHaveLength(0)
    const sync = await app.request('/v1/detect', { method: 'POST', body: form([{ name: 'image', value: PNG_8x8 }]) })
    expect(sync.status).toBe(200)
  })

  it('refuses a callback_url on a sync request, which would never call back', async () => {
    const { app, rows } = await edgeWith({ r1: oipPeer() })
    const body = form([
      { name: 'image', value: PNG_8x8 },
      { name: 'callback_url', value: 'https://hooks.example/genimage' },
    ])
    const res = await app.request('/v1/detect', { method: 'POST', body })
    expect(res.status).toBe(400)
    const error = ErrorResponse.parse(await res.json())
    expect(error.error.code).toBe('invalid_request')
    expect(error.error.message).toContain('async')
    expect(await rows()).toHaveLength(0)
  })

  it('documents the async query, the 202 answer and the job route in OpenAPI', async () => {
    const { app } = await edgeWith({ r1: oipPeer() })
    const document = (await (await app.request('/openapi.json')).json()) as {
      paths: Record<string, Record<string, { parameters?: { name: string }[]; responses: Record<string, unknown> }>>
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> }
    }
    const detect = document.paths['/v1/detect']?.post
    expect(detect?.parameters?.map((p) => p.name)).toContain('async')
    for (const status of ['202', '413', '501', '503']) expect(Object.keys(detect?.responses ?? {})).toContain(status)
    const job = document.paths['/v1/detect/jobs/{id}']?.get
    expect(job?.parameters?.map((p) => p.name)).toEqual(['id', 'cursor', 'limit'])
    const fields = Object.keys(document.components.schemas.DetectJobStatus?.properties ?? {})
    for (const field of ['status', 'progress', 'result', 'failures', 'next_cursor', 'callback']) expect(fields).toContain(field)
  })
})
