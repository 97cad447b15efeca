// ESM jest (the @actions/* packages are ESM-only): ts-jest transpiles, `npm run typecheck` type-checks.
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, diagnostics: false }]
  },
  testMatch: ['<rootDir>/__tests__/**/*.test.ts'],
  setupFilesAfterEnv: ['<rootDir>/__tests__/helpers/after-each.ts'],
  testTimeout: 60000,
  maxWorkers: 3,
  verbose: false
}
