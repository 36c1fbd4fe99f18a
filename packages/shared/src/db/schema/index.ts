export * from './detect.ts'
export * from './dataset.ts'
