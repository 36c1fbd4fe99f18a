export * from './model-card.ts'
