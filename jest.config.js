// One Jest run for the three tiers: *.spec.ts (unit), *.int-spec.ts (real Postgres and Redis),
// *.e2e-spec.ts (the booted apps over HTTP). Each file makes its own database and queue prefix.
const { readFileSync } = require('node:fs');
const swcrc = JSON.parse(readFileSync(`${__dirname}/.swcrc`, 'utf8'));

/** @type {import('jest').Config} */
module.exports = {
  rootDir: __dirname,
  testEnvironment: 'node',
  testMatch: ['<rootDir>/{apps,libs,scripts,bench,sdks}/**/*.{spec,int-spec,e2e-spec}.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  // ESM-only packages (jose, openid-client, oidc-provider) are compiled to CommonJS like ours.
  transform: { '^.+\\.(ts|js|mjs)$': ['@swc/jest', { ...swcrc, swcrc: false }] },
  transformIgnorePatterns: ['/node_modules/(?!(jose|openid-client|oauth4webapi|oidc-provider)/)'],
  moduleNameMapper: {
    '^@cap/db/testing$': '<rootDir>/libs/db/src/testing.ts',
    '^@cap/(.*)$': '<rootDir>/libs/$1/src/index.ts',
    // The SDKs' sources import with `.js` extensions, as their ESM build needs.
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testTimeout: 60_000,
  maxWorkers: 2,
};
