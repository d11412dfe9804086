import "reflect-metadata";
import type { Context } from "../../src/graphql/context";
import { resolveEntities } from "../../src/graphql/schema";

const context = {} as Context;

describe("resolveEntities (_entities)", () => {
  it("calls each type's resolver once with its references in order, and puts each value back in its place, named for _Entity", async () => {
    const calls: string[][] = [];
    const resolvers = {
      User: async (refs: readonly Record<string, unknown>[]) => (calls.push(refs.map((r) => r.id as string)), refs.map((r) => (r.id === "u-missing" ? null : { id: r.id }))),
      Account: async (refs: readonly Record<string, unknown>[]) => (calls.push(refs.map((r) => r.id as string)), refs.map((r) => ({ id: r.id }))),
    };
    const values = (await resolveEntities(
      [
        { __typename: "User", id: "u1" },
        { __typename: "Account", id: "a1" },
        { __typename: "User", id: "u-missing" },
        { __typename: "User", id: "u2" },
      ],
      resolvers,
      context,
    )) as ({ id: string; __typename: string } | null)[];
    expect(calls).toEqual([["u1", "u-missing", "u2"], ["a1"]]);
    expect(values.map((v) => v && [v.__typename, v.id])).toEqual([["User", "u1"], ["Account", "a1"], null, ["User", "u2"]]);
    // Not enumerable: nothing but the fields asked for is serialised.
    expect(Object.keys(values[0] as object)).toEqual(["id"]);
  });

  it("gives every reference of a type whose resolver fails that error in its own place, and the other types their values", async () => {
    const failure = new Error("database unavailable");
    const resolvers = {
      User: async () => Promise.reject(failure),
      Account: async (refs: readonly Record<string, unknown>[]) => refs.map((r) => ({ id: r.id })),
    };
    const values = await resolveEntities(
      [
        { __typename: "User", id: "u1" },
        { __typename: "Account", id: "a1" },
        { __typename: "User", id: "u2" },
      ],
      resolvers,
      context,
    );
    expect(values[0]).toBe(failure);
    expect(values[2]).toBe(failure);
    expect(values[1]).toMatchObject({ id: "a1", __typename: "Account" });
  });
});
