/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: '<rootDir>/test/helpers/environment.js',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': 'ts-jest',
    // openid-client and its two libraries ship ES modules only: compiled for jest's CommonJS runtime (node itself loads them as they are).
    '^.+/node_modules/(openid-client|oauth4webapi|jose)/.+\\.js$': ['ts-jest', { tsconfig: { allowJs: true }, isolatedModules: true }],
  },
  transformIgnorePatterns: ['/node_modules/(?!(openid-client|oauth4webapi|jose)/)'],
  setupFiles: ['<rootDir>/test/helpers/no-network.ts'],
  // A safety net against a hang, never a speed limit: tests wait for events, and on two cores shared
  // with other work a test can take ten times its usual time. Waits inside tests stay below it.
  testTimeout: 120000,
};
