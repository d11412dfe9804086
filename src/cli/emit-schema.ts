// npm run schema:emit — writes schema/subgraph.graphql (what `_service { sdl }` returns),
// schema/api.graphql (the executable schema, input of codegen) and schema/supergraph.graphql (this
// subgraph alone, composed for the router of docker-compose.yml). A test fails when one is stale.
import "reflect-metadata";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { composeServices } from "@apollo/composition";
import { parse } from "graphql";
import { schemaFiles } from "../app";

export const SCHEMA_DIR = path.resolve(__dirname, "../../schema");
/** Where the router of docker-compose.yml reaches this service. */
export const COMPOSE_ROUTING_URL = "http://identity:4001/graphql";

export function composeSupergraph(sdl: string, routingUrl: string): string {
  const result = composeServices([{ name: "identity", url: routingUrl, typeDefs: parse(sdl) }]);
  if (result.errors) throw new Error(`composition failed: ${result.errors.map((e) => e.message).join("; ")}`);
  return result.supergraphSdl;
}

/** Every emitted file, by name under schema/. */
export async function emittedFiles(): Promise<Record<string, string>> {
  const { subgraph, api } = await schemaFiles();
  return {
    "subgraph.graphql": subgraph,
    "api.graphql": api,
    "supergraph.graphql": composeSupergraph(subgraph, COMPOSE_ROUTING_URL),
  };
}

async function main(): Promise<void> {
  for (const [name, content] of Object.entries(await emittedFiles())) {
    await writeFile(path.join(SCHEMA_DIR, name), content);
    process.stdout.write(`wrote schema/${name}\n`);
  }
}

if (require.main === module) void main();
