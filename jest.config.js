/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: '<rootDir>/test/helpers/environment.js',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  setupFiles: ['<rootDir>/test/helpers/no-network.ts'],
  // A safety net against a hang, never a speed limit: tests wait for events, and on two cores shared
  // with other work a test can take ten times its usual time. Waits inside tests stay below it.
  testTimeout: 120000,
};
