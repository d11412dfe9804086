import { buildSchema, parse, specifiedRules, validate, Kind, type FragmentDefinitionNode, type OperationDefinitionNode } from "graphql";
import { createLimitsRule, measureSelectionSet } from "../../src/graphql/limits";

const measure = (source: string) => {
  const doc = parse(source);
  const fragments = new Map(doc.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((f) => [f.name.value, f]));
  const op = doc.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  return measureSelectionSet(op!.selectionSet, fragments);
};

describe("measureSelectionSet", () => {
  it("counts depth, cost and aliases through fragments", () => {
    expect(measure(`{ a { b { c } } x: a { b { c } } }`)).toEqual({ depth: 3, cost: 6, aliases: 1 });
    expect(measure(`{ a { ...F } } fragment F on T { b { ... on T { c } } }`)).toEqual({ depth: 3, cost: 3, aliases: 0 });
  });

  it("multiplies children by a literal first/last and assumes 100 for a variable", () => {
    expect(measure(`{ list(first: 50) { id name } }`).cost).toBe(101);
    expect(measure(`query($n: Int) { list(last: $n) { id } }`).cost).toBe(101);
  });

  it("ignores introspection fields", () => {
    expect(measure(`{ __schema { types { fields { type { ofType { name } } } } } a }`)).toEqual({ depth: 1, cost: 1, aliases: 0 });
  });

  it("measures a fragment bomb in linear time and caps the numbers", () => {
    const defs = Array.from({ length: 80 }, (_, i) => `fragment B${i} on T { ...B${i + 1} ...B${i + 1} }`).join("\n");
    const result = measure(`{ a { ...B0 } }\n${defs}\nfragment B80 on T { x: id }`);
    expect(result.cost).toBe(Number.MAX_SAFE_INTEGER);
    expect(result.aliases).toBe(Number.MAX_SAFE_INTEGER);
  });

  it("survives fragment cycles (graphql's own rule reports them)", () => {
    expect(measure(`{ a { ...A } } fragment A on T { ...B } fragment B on T { ...A b }`)).toEqual({ depth: 2, cost: 2, aliases: 0 });
  });
});

describe("createLimitsRule", () => {
  const schema = buildSchema(`type T { id: ID t: T list(first: Int): [T] } type Query { t: T }`);
  const rule = createLimitsRule({ maxDepth: 3, maxCost: 50, maxAliases: 2 });
  const errors = (source: string) => validate(schema, parse(source), [...specifiedRules, rule]).map((e) => e.message);

  it("passes an operation within every limit", () => {
    expect(errors(`{ t { t { id } } }`)).toEqual([]);
  });

  it("names the operation and the limit it broke", () => {
    expect(errors(`query Q { t { t { t { id } } } }`)).toEqual(['Operation "Q" is 4 levels deep; the maximum depth is 3']);
    expect(errors(`{ t { list(first: 99999999) { id } } }`)).toEqual(["The operation costs 100000001; the maximum cost is 50"]);
    expect(errors(`{ a: t { id } b: t { id } c: t { id } }`)).toEqual(["The operation uses 3 aliases; the maximum is 2"]);
  });
});
