export * from './detect.ts'
export * from './dataset.ts'
export * from './pool.ts'
export * from './experiments.ts'
