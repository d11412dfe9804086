/** Jest with @swc/jest: fast transpilation with decorator metadata (type-graphql needs it); type checking is `npm run typecheck`. */
const swc = {
  jsc: {
    parser: { syntax: "typescript", decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
    target: "es2022",
  },
  module: { type: "commonjs" },
  sourceMaps: "inline",
};

module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  testPathIgnorePatterns: ["/node_modules/", "/test/bench/", "/test/scratch/"],
  transform: { "^.+\\.(t|j)sx?$": ["@swc/jest", swc] },
  // ESM-only packages, compiled to CommonJS like the tests (openid-client and oauth4webapi: the OAuth client test).
  transformIgnorePatterns: ["/node_modules/(?!(jose|@scure/base|@noble/hashes|openid-client|oauth4webapi)/)"],
  moduleNameMapper: { "^(\\.{1,2}/.*)\\.js$": "$1" },
  setupFiles: ["reflect-metadata"],
  globalSetup: "<rootDir>/test/support/global-setup.ts",
  testTimeout: 30000,
  maxWorkers: 2,
};
