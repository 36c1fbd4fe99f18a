export * from './generators.ts'
export * from './layout.ts'
