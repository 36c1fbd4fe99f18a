import { describe, expect, it } from 'vitest'
import { DEFAULT_PROVIDER_BATCHING, runnerConfigFromEnv } from '../src/config.ts'

describe('runnerConfigFromEnv: execution providers', () => {
  it('tries cuda, webgpu, then cpu by default without forcing WebGPU onto a software adapter', () => {
    const config = runnerConfigFromEnv({})
    expect(config.providers).toEqual(['cuda', 'webgpu', 'cpu'])
    expect(config.forceWebGpu).toBe(false)
  })

  it('forces WebGPU when EXECUTION_PROVIDERS names it, even with the default list spelled out', () => {
    expect(runnerConfigFromEnv({ EXECUTION_PROVIDERS: 'webgpu' }).forceWebGpu).toBe(true)
    expect(runnerConfigFromEnv({ EXECUTION_PROVIDERS: 'cuda, webgpu, cpu' })).toMatchObject({ providers: ['cuda', 'webgpu', 'cpu'], forceWebGpu: true })
    expect(runnerConfigFromEnv({ EXECUTION_PROVIDERS: 'cpu' }).forceWebGpu).toBe(false)
  })
})

describe('runnerConfigFromEnv: batching per provider', () => {
  it('gives a GPU provider larger batches and a longer queue delay than the CPU by default', () => {
    const { serving } = runnerConfigFromEnv({})
    expect(serving.batchByProvider).toEqual(DEFAULT_PROVIDER_BATCHING)
    expect(serving.batchByProvider.webgpu.maxBatchSize).toBeGreaterThan(serving.batchByProvider.cpu.maxBatchSize)
    expect(serving.batchByProvider.webgpu.maxQueueDelayMs).toBeGreaterThan(serving.batchByProvider.cpu.maxQueueDelayMs)
    expect(serving.batch).toEqual(DEFAULT_PROVIDER_BATCHING.cpu)
  })

  it('applies MAX_BATCH_SIZE and MAX_QUEUE_DELAY_MS to every provider, and the suffixed names to one, which win', () => {
    const { serving } = runnerConfigFromEnv({ MAX_BATCH_SIZE: '16', MAX_QUEUE_DELAY_MS: '400', MAX_BATCH_SIZE_WEBGPU: '64', MAX_QUEUE_IMAGES_CUDA: '512' })
    expect(serving.batchByProvider.cpu).toEqual({ maxBatchSize: 16, maxQueueDelayMs: 400, maxQueueSize: 64 })
    expect(serving.batchByProvider.webgpu).toEqual({ maxBatchSize: 64, maxQueueDelayMs: 400, maxQueueSize: 128 })
    expect(serving.batchByProvider.cuda).toEqual({ maxBatchSize: 16, maxQueueDelayMs: 400, maxQueueSize: 512 })
  })

  it('keeps room for two batches in a queue whose size is not set', () => {
    const { serving } = runnerConfigFromEnv({ MAX_BATCH_SIZE_CPU: '48' })
    expect(serving.batchByProvider.cpu.maxQueueSize).toBe(96)
    expect(runnerConfigFromEnv({ MAX_BATCH_SIZE_CPU: '48', MAX_QUEUE_IMAGES: '50' }).serving.batchByProvider.cpu.maxQueueSize).toBe(50)
  })

  it('names the variable that is wrong', () => {
    expect(() => runnerConfigFromEnv({ MAX_BATCH_SIZE_WEBGPU: '0' })).toThrow(/MAX_BATCH_SIZE_WEBGPU/)
  })
})
