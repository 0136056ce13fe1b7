import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))

/** Tests run against the TypeScript sources (one copy of each package); child processes use the built `dist`. */
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@cubby\/core\/backend$/, replacement: here('./packages/core/src/backend/index.ts') },
      { find: /^@cubby\/core\/raw$/, replacement: here('./packages/core/src/raw/index.ts') },
      {
        find: /^@cubby\/backend-memory\/testing$/,
        replacement: here('./packages/backend-memory/src/testing/index.ts'),
      },
      {
        find: /^@cubby\/backend-sqlite\/testing$/,
        replacement: here('./packages/backend-sqlite/src/testing/index.ts'),
      },
      { find: /^@cubby\/backend-remote\/wire$/, replacement: here('./packages/backend-remote/src/wire/index.ts') },
      { find: /^@cubby\/backend-redis\/testing$/, replacement: here('./packages/backend-redis/src/testing/index.ts') },
      {
        find: /^@cubby\/backend-postgres\/testing$/,
        replacement: here('./packages/backend-postgres/src/testing/index.ts'),
      },
      { find: /^@cubby\/([a-z-]+)$/, replacement: here('./packages/$1/src/index.ts') },
    ],
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts', 'bench/test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: process.env.CUBBY_TEST_JSON
      ? ['default', ['json', { outputFile: process.env.CUBBY_TEST_JSON }]]
      : ['default'],
  },
})
