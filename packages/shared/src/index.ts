export * from './contracts/index.ts'
export * from './oip/index.ts'
export * from './result.ts'
