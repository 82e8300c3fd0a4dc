/** @type {import('jest').Config} */
module.exports = {
  rootDir: '.',
  roots: ['<rootDir>/test'],
  testRegex: '\\.(spec|e2e-spec)\\.ts$',
  // Fixtures are specs that fail or hang on purpose, run only by test/e2e/no-hang.e2e-spec.ts.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/fixtures/'],
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  testEnvironment: 'node',
  globalSetup: '<rootDir>/test/e2e/harness/global-setup.ts',
  globalTeardown: '<rootDir>/test/e2e/harness/global-teardown.ts',
  // Stops whatever a test or a file left running, even when it failed or timed out.
  setupFilesAfterEnv: ['<rootDir>/test/e2e/harness/stop-leftovers.ts'],
  testTimeout: 30000,
  // The embedded database's thread runs its modules outside jest's instrumentation; its specs test them.
  collectCoverageFrom: [
    'src/**/*.ts',
    '!src/main.ts',
    '!src/client/main.ts',
    '!src/database/embedded-worker.ts',
    '!src/database/embedded-build.ts',
  ],
  coverageDirectory: '<rootDir>/reports/coverage',
  coverageReporters: ['text-summary', 'json-summary', 'lcov'],
  coverageThreshold: { global: { lines: 90 } },
};
