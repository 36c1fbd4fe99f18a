import { describeAdapter, requestWebGpuAdapter } from '@genimage/training/webgpu'

/** `GENIMAGE_SKIP_WEBGPU=1` skips the WebGPU tests on purpose; otherwise they fail where no adapter exists. */
export const skipWebGpu = process.env.GENIMAGE_SKIP_WEBGPU === '1'

/**
 * The WebGPU adapter these tests run on, described (e.g. `llvmpipe: Mesa 25.0.7 (software)`).
 * @throws Error saying that the tests need an adapter, where lavapipe comes from, and how to skip them.
 */
export async function testAdapter(): Promise<string> {
  const found = await requestWebGpuAdapter().catch((error: Error) => {
    throw new Error(
      `the WebGPU tests need a WebGPU adapter: ${error.message}. (Lavapipe, from bookworm-backports' mesa-vulkan-drivers, will do.) ` +
        'Set GENIMAGE_SKIP_WEBGPU=1 to skip them on purpose.',
    )
  })
  return describeAdapter(found.info)
}
