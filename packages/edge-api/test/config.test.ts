import { describe, expect, it } from 'vitest'
import { edgeEnvironment } from '../src/config.ts'

describe('edgeEnvironment', () => {
  it('defaults to auto keys, no url input and the runner registry on', () => {
    const env = edgeEnvironment({})
    expect(env.config.apiKeys).toBe('auto')
    expect(env.config.allowUrlInput).toBe(false)
    expect(env.runnerRegistry).toBe(true)
    expect(env.runnerUrls).toEqual(['http://127.0.0.1:8788'])
  })

  it('maps REQUIRE_API_KEY, EDGE_ALLOW_URL_INPUT and the pool settings', () => {
    const env = edgeEnvironment({
      REQUIRE_API_KEY: 'true',
      EDGE_ALLOW_URL_INPUT: 'true',
      URL_FETCH_TIMEOUT_MS: '2500',
      RUNNER_REGISTRY: 'false',
      RUNNER_URLS: 'http://a:1, http://b:2',
      BREAKER_THRESHOLD: '5',
    })
    expect(env.config).toMatchObject({ apiKeys: 'required', allowUrlInput: true, urlFetchTimeoutMs: 2500 })
    expect(env).toMatchObject({ runnerRegistry: false, runnerUrls: ['http://a:1', 'http://b:2'], breakerThreshold: 5 })
    expect(edgeEnvironment({ REQUIRE_API_KEY: 'false' }).config.apiKeys).toBe('optional')
  })

  it('names the variable that is wrong', () => {
    expect(() => edgeEnvironment({ REQUIRE_API_KEY: 'yes' })).toThrow(/REQUIRE_API_KEY/)
    expect(() => edgeEnvironment({ EDGE_ALLOW_URL_INPUT: '1' })).toThrow(/EDGE_ALLOW_URL_INPUT/)
  })
})
