import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { Kind, buildSchema, parse, print, specifiedRules, validate, type OperationDefinitionNode } from "graphql";
import { schemaFiles } from "../../src/app";
import { emittedFiles } from "../../src/cli/emit-schema";

const ROOT = path.resolve(__dirname, "../..");
const OPERATIONS_DIR = path.join(ROOT, "schema/operations");
const CONTRACT = path.resolve(ROOT, "../shared/contract/operations.graphql");

function operationsIn(source: string): Map<string, string> {
  const ops = parse(source).definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  return new Map(ops.map((op) => [op.name?.value ?? "", print(op)]));
}

const ours = readdirSync(OPERATIONS_DIR)
  .filter((f) => f.endsWith(".graphql"))
  .map((f) => readFileSync(path.join(OPERATIONS_DIR, f), "utf8"));

it.each(["subgraph.graphql", "api.graphql", "supergraph.graphql"])("schema/%s is what `npm run schema:emit` writes now", async (name) => {
  const files = await emittedFiles();
  expect(readFileSync(path.join(ROOT, "schema", name), "utf8")).toBe(files[name]);
});

it("every operation in schema/operations validates against the schema", async () => {
  const schema = buildSchema((await schemaFiles()).api);
  expect(ours.length).toBeGreaterThan(0);
  for (const source of ours) expect(validate(schema, parse(source), specifiedRules).map((e) => e.message)).toEqual([]);
});

// The contract lives beside the project (../shared); a clone without it has nothing to compare to.
(existsSync(CONTRACT) ? it : it.skip)("every operation in schema/operations is the contract's operation of that name, unchanged", () => {
  const contract = operationsIn(readFileSync(CONTRACT, "utf8"));
  for (const source of ours) {
    for (const [name, printed] of operationsIn(source)) expect({ name, printed }).toEqual({ name, printed: contract.get(name) });
  }
});

it("test/support/generated/operations.ts is what `npm run codegen` writes now", async () => {
  const run = promisify(execFile);
  await expect(run(process.execPath, [path.join(ROOT, "node_modules/.bin/graphql-codegen"), "--config", "codegen.yml", "--check"], { cwd: ROOT })).resolves.toBeDefined();
}, 30_000);
