import { defineConfig } from 'vitest/config'

/** Watch mode across the monorepo (`npx vitest`); CI runs each package's own config through turbo. */
export default defineConfig({
  test: {
    projects: ['packages/*', 'test'],
  },
})
