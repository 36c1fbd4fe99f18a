export { describeAdapter, isSoftwareAdapter, requestWebGpuAdapter, usableWebGpuAdapter, type WebGpuAdapter, type WebGpuAdapterInfo } from './adapter.ts'
export { probeWebGpuAdapterInfo } from './adapter-probe.ts'
