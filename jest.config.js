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
  // ESM-only packages, compiled to CommonJS like the tests (openid-client and oauth4webapi: the OAuth client test;
  // file-type and what it imports: document detection).
  transformIgnorePatterns: ["/node_modules/(?!(jose|@scure/base|@noble/hashes|openid-client|oauth4webapi|file-type|strtok3|token-types|uint8array-extras|@tokenizer/inflate|@borewit/text-codec)/)"],
  // file-type exports only "import" and "module-sync" (what Node's require of an ES module uses), conditions Jest's resolver does not know.
  moduleNameMapper: { "^(\\.{1,2}/.*)\\.js$": "$1", "^file-type$": "<rootDir>/node_modules/file-type/index.js" },
  setupFiles: ["reflect-metadata"],
  globalSetup: "<rootDir>/test/support/global-setup.ts",
  testTimeout: 30000,
  maxWorkers: 2,
};
