import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "coverage/", "src/generated/", "test/support/generated/", "test/scratch/", ".data/", "node_modules/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: "readonly", console: "readonly", require: "readonly", module: "writable", __dirname: "readonly" } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" }],
      "no-restricted-properties": ["error", { object: "Math", property: "random", message: "Use node:crypto for anything secret or unpredictable." }],
      eqeqeq: ["error", "always"],
    },
  },
  { files: ["**/*.js", "**/*.cjs"], rules: { "@typescript-eslint/no-require-imports": "off" } },
  {
    // A module reaches another only through its index.ts (`../users`, never `../users/user.service`).
    files: ["src/modules/*/*.ts"],
    rules: {
      "@typescript-eslint/no-restricted-imports": [
        "error",
        { patterns: [{ regex: "^\\.\\./[^./][^/]*/", message: "Import another module through its index.ts (../<module>), not its internals." }] },
      ],
    },
  },
  {
    // Shared pieces are module-free and GraphQL-free: the GraphQL layer maps them, they never import it.
    files: ["src/shared/*.ts"],
    rules: {
      "@typescript-eslint/no-restricted-imports": [
        "error",
        { patterns: [{ regex: "^(graphql|type-graphql|@apollo/.*|\\.\\./(graphql|modules)(/.*)?)$", message: "src/shared/ imports neither the GraphQL layer nor a module." }] },
      ],
    },
  },
);
