export * from './binary.ts'
