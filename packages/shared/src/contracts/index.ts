export * from './detect.ts'
export * from './errors.ts'
export * from './inference.ts'
export * from './model-card.ts'
