import { describe, expect, it } from 'vitest'
import { edgeEnvironment } from '../src/config.ts'

describe('edgeEnvironment: experiments, browsers and metrics', () => {
  it('maps DATA_ROOTS, ALLOWED_ORIGINS, METRICS_TOKEN and the experiment limits', () => {
    const env = edgeEnvironment({
      DATA_ROOTS: '/data/genimage, /srv/sets',
      ALLOWED_ORIGINS: 'https://console.example.com',
      METRICS_TOKEN: 'a-token-of-sixteen+',
      MAX_EXPERIMENT_RUNS: '200',
      MAX_EXPERIMENT_SPEC_BYTES: '16384',
      MAX_EVENT_STREAMS_PER_KEY: '4',
    })
    expect(env.config).toMatchObject({
      dataRoots: ['/data/genimage', '/srv/sets'],
      allowedOrigins: ['https://console.example.com'],
      metricsToken: 'a-token-of-sixteen+',
      maxExperimentRuns: 200,
      maxExperimentSpecBytes: 16384,
      maxEventStreamsPerKey: 4,
    })
    expect(edgeEnvironment({}).config).toMatchObject({ dataRoots: undefined, allowedOrigins: [], maxExperimentRuns: 1000 })
  })

  it('names DATA_ROOTS when a root is relative or dotted, and METRICS_TOKEN when it is short', () => {
    expect(() => edgeEnvironment({ DATA_ROOTS: 'data/genimage' })).toThrow(/DATA_ROOTS/)
    expect(() => edgeEnvironment({ DATA_ROOTS: '/data/../root' })).toThrow(/DATA_ROOTS/)
    expect(() => edgeEnvironment({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN/)
  })
})
