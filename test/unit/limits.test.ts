import { buildSchema, parse, specifiedRules, validate, Kind, type FragmentDefinitionNode, type OperationDefinitionNode } from "graphql";
import { createLimitsRule, measureSelectionSet } from "../../src/graphql/limits";

const SINGLE_USE = new Set(["login"]);

const measure = (source: string) => {
  const doc = parse(source);
  const fragments = new Map(doc.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((f) => [f.name.value, f]));
  const op = doc.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  return measureSelectionSet(op!.selectionSet, fragments, SINGLE_USE);
};

describe("measureSelectionSet", () => {
  it("counts depth, cost, aliases, selections and repeats through fragments", () => {
    expect(measure(`{ a { b { c } } x: a { b { c } } }`)).toEqual({ depth: 3, cost: 6, aliases: 1, selections: 6, repeats: 1, singleUse: 0 });
    expect(measure(`{ a { ...F } } fragment F on T { b { ... on T { c } } }`)).toEqual({ depth: 3, cost: 3, aliases: 0, selections: 3, repeats: 1, singleUse: 0 });
    expect(measure(`{ a { id id ...F ...F } } fragment F on T { id }`)).toMatchObject({ selections: 5, repeats: 2 });
  });

  it("counts single-use fields at the root only, through fragments and aliases", () => {
    expect(measure(`{ a: login b: login }`).singleUse).toBe(2);
    expect(measure(`{ login ...F } fragment F on Query { ... on Query { x: login } }`).singleUse).toBe(2);
    expect(measure(`{ login t { login } }`).singleUse).toBe(1);
  });

  it("multiplies children by a literal first/last and assumes 100 for a variable", () => {
    expect(measure(`{ list(first: 50) { id name } }`).cost).toBe(101);
    expect(measure(`query($n: Int) { list(last: $n) { id } }`).cost).toBe(101);
  });

  it("item 7: leaves introspection fields out of the depth only", () => {
    expect(measure(`{ __schema { types { fields { type { ofType { name } } } } } a }`)).toEqual({ depth: 1, cost: 7, aliases: 0, selections: 7, repeats: 1, singleUse: 0 });
    const typenames = Array.from({ length: 101 }, (_, i) => `t${i}: __typename`).join(" ");
    expect(measure(`{ ${typenames} }`)).toMatchObject({ aliases: 101, cost: 101 });
    expect(measure(`{ ${"__typename ".repeat(500)} }`)).toMatchObject({ cost: 500, repeats: 500 });
  });

  it("measures a fragment bomb in linear time and caps the numbers", () => {
    const defs = Array.from({ length: 80 }, (_, i) => `fragment B${i} on T { ...B${i + 1} ...B${i + 1} }`).join("\n");
    const result = measure(`{ a { ...B0 } }\n${defs}\nfragment B80 on T { x: id }`);
    expect(result.cost).toBe(Number.MAX_SAFE_INTEGER);
    expect(result.aliases).toBe(Number.MAX_SAFE_INTEGER);
    expect(result.selections).toBe(Number.MAX_SAFE_INTEGER);
  });

  it("survives fragment cycles (graphql's own rule reports them)", () => {
    expect(measure(`{ a { ...A } } fragment A on T { ...B } fragment B on T { ...A b }`)).toEqual({ depth: 2, cost: 2, aliases: 0, selections: 2, repeats: 1, singleUse: 0 });
  });
});

describe("createLimitsRule", () => {
  const schema = buildSchema(`type T { id: ID t: T list(first: Int): [T] } type Query { t: T }`);
  const rule = createLimitsRule({ maxDepth: 3, maxCost: 50, maxAliases: 2, maxSelections: 20, maxRepeats: 2, singleUse: ["t"] });
  const errors = (source: string) => validate(schema, parse(source), [...specifiedRules, rule]).map((e) => e.message);

  it("passes an operation within every limit", () => {
    expect(errors(`{ t { t { id } } }`)).toEqual([]);
  });

  it("names the operation and the limit it broke", () => {
    expect(errors(`query Q { t { t { t { id } } } }`)).toEqual(['Operation "Q" is 4 levels deep; the maximum depth is 3']);
    expect(errors(`{ t { list(first: 99999999) { id } } }`)).toEqual(["The operation costs 100000001; the maximum cost is 50"]);
    expect(errors(`{ t { a: id b: id c: id } }`)).toEqual(["The operation uses 3 aliases; the maximum is 2"]);
    expect(errors(`{ t { ...F ...F } } fragment F on T { id id }`)).toEqual([]);
    expect(errors(`{ t { ${"id ".repeat(3)} } }`)).toEqual(["The operation selects one field or fragment 3 times in one selection set; the maximum is 2"]);
    const four = ["A", "B", "C", "D"].map((name) => `fragment ${name} on T { id t { id } list { id } }`).join(" ");
    expect(errors(`{ t { ...A ...B ...C ...D } } ${four}`)).toEqual(["The operation selects 21 fields once fragments are expanded; the maximum is 20"]);
    expect(errors(`{ a: t { id } ...Q } fragment Q on Query { b: t { id } }`)).toEqual(["At most one of t per operation"]);
  });
});
