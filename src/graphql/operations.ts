import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import { Kind, parse } from "graphql";

/** schema/operations/, from src/graphql/ and from dist/graphql/ alike. */
const OPERATIONS_DIR = path.resolve(__dirname, "../../schema/operations");

/** Names of the operations callers send (the contract's copy in schema/operations/). */
export async function contractOperationNames(dir = OPERATIONS_DIR): Promise<string[]> {
  const files = (await readdir(dir)).filter((file) => file.endsWith(".graphql")).sort();
  const names: string[] = [];
  for (const file of files) {
    for (const definition of parse(await readFile(path.join(dir, file), "utf8")).definitions) {
      if (definition.kind === Kind.OPERATION_DEFINITION && definition.name) names.push(definition.name.value);
    }
  }
  return names;
}
