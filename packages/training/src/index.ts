export * from './export/index.ts'
export * from './tf/index.ts'
export * from './train/index.ts'
export * from './zoo/index.ts'
