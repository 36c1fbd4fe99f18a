import { DetectForm, DetectResponse, ErrorCode, ErrorResponse, ExperimentDetail, ExperimentSpec, HealthResponse, ModelsResponse } from '@genimage/shared'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { edgeWith, form, JPEG_8x8, oipPeer } from './fixtures.ts'

type Doc = {
  openapi: string
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }> }>>
  components: { schemas: Record<string, Record<string, unknown>> }
}

const withoutDialect = (contract: z.ZodType, io: 'input' | 'output' = 'output') => {
  const { $schema: _dialect, ...schema } = z.toJSONSchema(contract, { io }) as Record<string, unknown>
  return schema
}

describe('GET /openapi.json', () => {
  it('serves an OpenAPI 3.1 document whose schemas are the zod contracts', async () => {
    const { app } = await edgeWith({ r1: oipPeer() })
    const res = await app.request('/openapi.json')
    expect(res.status).toBe(200)
    const doc = JSON.parse(await res.text()) as Doc
    expect(doc.openapi).toBe('3.1.0')
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/healthz',
      '/metrics',
      '/openapi.json',
      '/v1/datasets',
      '/v1/detect',
      '/v1/detect/jobs/{id}',
      '/v1/detections',
      '/v1/experiments',
      '/v1/experiments/{id}',
      '/v1/experiments/{id}/cancel',
      '/v1/experiments/{id}/events',
      '/v1/keys',
      '/v1/keys/{id}/revoke',
      '/v1/models',
      '/v1/models/{name}',
    ])
    expect(doc.components.schemas.ExperimentSpec).toEqual(withoutDialect(ExperimentSpec, 'input'))
    expect(doc.components.schemas.ExperimentDetail).toEqual(withoutDialect(ExperimentDetail))
    expect(doc.components.schemas.DetectResponse).toEqual(withoutDialect(DetectResponse))
    expect(doc.components.schemas.ModelsResponse).toEqual(withoutDialect(ModelsResponse))
    expect(doc.components.schemas.HealthResponse).toEqual(withoutDialect(HealthResponse))
    expect(doc.components.schemas.ErrorResponse).toEqual(withoutDialect(ErrorResponse))
    expect(doc.components.schemas.DetectForm).toEqual(withoutDialect(DetectForm, 'input'))
    const refs = JSON.stringify(doc).match(/#\/components\/schemas\/\w+/g) ?? []
    for (const ref of refs) expect(doc.components.schemas[ref.split('/').pop() as string]).toBeDefined()
    const detectStatuses = Object.keys(doc.paths['/v1/detect']?.post?.responses ?? {}).sort()
    expect(detectStatuses).toEqual(['200', '202', '400', '401', '403', '404', '408', '409', '413', '415', '422', '429', '500', '501', '502', '503', '504'])
  })

  it('describes what the edge really answers: live responses validate against the served schemas', async () => {
    const { app } = await edgeWith({ r1: oipPeer() })
    const doc = (await (await app.request('/openapi.json')).json()) as Doc
    const schemaOf = (name: string) => z.fromJSONSchema(doc.components.schemas[name] as never)
    const detected = await (await app.request('/v1/detect', { method: 'POST', body: form([{ name: 'image', value: JPEG_8x8 }]) })).json()
    expect(schemaOf('DetectResponse').safeParse(detected).success).toBe(true)
    const failed = await (await app.request('/v1/detect', { method: 'POST', body: form([{ name: 'model', value: 'x' }]) })).json()
    expect(schemaOf('ErrorResponse').safeParse(failed).success).toBe(true)
    expect(schemaOf('ErrorResponse').safeParse({ error: { code: 'made_up', message: 'x' } }).success).toBe(false)
    expect(schemaOf('ModelsResponse').safeParse(await (await app.request('/v1/models')).json()).success).toBe(true)
    expect(schemaOf('HealthResponse').safeParse(await (await app.request('/healthz')).json()).success).toBe(true)
  })
})

describe('GET /metrics', () => {
  it('counts requests by route and status, errors by code, latency and the runner pool in Prometheus text', async () => {
    const { app } = await edgeWith({ r1: oipPeer(), r2: 'down' })
    await app.request('/v1/detect', { method: 'POST', body: form([{ name: 'image', value: JPEG_8x8 }]) })
    await app.request('/v1/detect', { method: 'POST', body: form([{ name: 'image', value: JPEG_8x8 }]) })
    await app.request('/v1/detect', { method: 'POST', body: form([{ name: 'model', value: 'x' }]) })
    await app.request('/no/such/path/123')
    await app.request('/v1/detect', { method: 'DELETE' })
    await app.request('/v1/experiments/exp_123/events')
    const res = await app.request('/metrics')
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    const text = await res.text()
    const value = (series: string) =>
      Number(
        text
          .split('\n')
          .find((l) => l.startsWith(`${series} `))
          ?.split(' ')[1],
      )
    expect(value('edge_http_requests_total{route="/v1/detect",method="POST",status="200"}')).toBe(2)
    expect(value('edge_http_requests_total{route="/v1/detect",method="POST",status="400"}')).toBe(1)
    expect(value('edge_http_requests_total{route="other",method="GET",status="404"}')).toBe(1)
    expect(value('edge_http_requests_total{route="other",method="DELETE",status="404"}')).toBe(1)
    expect(text).toMatch(/edge_http_requests_total\{route="\/v1\/experiments\/:id\/events",method="GET",status="\d+"\} 1/)
    expect(value('edge_errors_total{code="missing_image"}')).toBe(1)
    expect(value('edge_errors_total{code="not_found"}')).toBe(3)
    expect(value('edge_http_request_duration_seconds_count{route="/v1/detect"}')).toBe(3)
    expect(value('edge_http_request_duration_seconds_bucket{route="/v1/detect",le="+Inf"}')).toBe(3)
    expect(value('edge_runners{state="routable"}')).toBe(1)
    expect(value('edge_runners{state="not_ready"}')).toBe(1)
    expect(text).toContain('# TYPE edge_http_request_duration_seconds histogram')
    for (const line of text.trim().split('\n')) expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? -?[\d.e+-]+)$/)
  })
})

describe('structured logs', () => {
  it("logs one JSON-ready line per request with its id, the client's correlation id, route, status, duration and error code", async () => {
    const { app, logs } = await edgeWith({ r1: oipPeer() })
    await app.request('/v1/detect', { method: 'POST', body: form([{ name: 'image', value: JPEG_8x8 }]), headers: { 'x-request-id': 'req-1' } })
    await app.request('/v1/detect', { method: 'POST', body: form([{ name: 'model', value: 'x' }]), headers: { 'x-request-id': 'req-2' } })
    expect(logs.map((l) => JSON.parse(JSON.stringify(l)))).toMatchObject([
      { level: 'info', msg: 'request', correlation_id: 'req-1', route: '/v1/detect', status: 200, runner: 'http://r1' },
      { level: 'warn', msg: 'request', correlation_id: 'req-2', route: '/v1/detect', status: 400, error_code: 'missing_image' },
    ])
    for (const line of logs) expect(line.request_id).toMatch(/^[0-9a-f-]{36}$/)
    expect(typeof logs[0]?.duration_ms).toBe('number')
    expect(ErrorCode.options).toContain(logs[1]?.error_code)
  })
})
