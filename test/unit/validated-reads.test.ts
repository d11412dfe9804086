// What ValidatedReads remembers from Apollo, and when it answers (a small schema, a real ApolloServer).
import { ApolloServer } from "@apollo/server";
import { buildSchema } from "graphql";
import type { Context } from "../../src/graphql/context";
import { ValidatedReads } from "../../src/graphql/validated-reads";
import { Metrics } from "../../src/platform/metrics/metrics";

const schema = buildSchema(`type Query { hello(name: String): String, other: String } type Mutation { hello: String }`);
const hello = schema.getQueryType()?.getFields().hello;
if (hello) hello.resolve = (_: unknown, { name }: { name?: string }) => `hello ${name ?? "you"}`;
const context = async () => ({}) as Context;

async function setup(options: { maxQueries?: number; maxQueryLength?: number } = {}) {
  const reads = new ValidatedReads({ schema, metrics: new Metrics(), rootFields: ["hello"], ...options });
  const apollo = new ApolloServer<Context>({ schema, plugins: [reads.plugin] });
  await apollo.start();
  /** Apollo executes it (and so validates it) first; then ValidatedReads is asked. */
  const throughApollo = (query: string, variables?: Record<string, unknown>) => apollo.executeOperation({ query, variables });
  const ask = (body: unknown, headers: Record<string, string> = {}) => reads.answer("POST", headers, body, context);
  return { reads, apollo, throughApollo, ask };
}

describe("ValidatedReads", () => {
  it("answers a query only once Apollo has validated it, as Apollo would (data and a newline, JSON)", async () => {
    const { apollo, throughApollo, ask } = await setup();
    const query = "query Hi($name: String) { hello(name: $name) }";
    expect(await ask({ query, variables: { name: "a" } })).toBeUndefined();
    const apollos = await throughApollo(query, { name: "a" });
    const data = apollos.body.kind === "single" ? apollos.body.singleResult.data : undefined;
    expect(data).toEqual({ hello: "hello a" });
    expect(await ask({ query, variables: { name: "a" } })).toEqual({ contentType: "application/json; charset=utf-8", body: `${JSON.stringify({ data })}\n` });
    expect(await ask({ query, operationName: "Hi" }, { accept: "application/graphql-response+json" })).toEqual({ contentType: "application/graphql-response+json; charset=utf-8", body: '{"data":{"hello":"hello you"}}\n' });
    await apollo.stop();
  });

  it("remembers single queries selecting only the listed root fields, and no invalid one", async () => {
    const { reads, apollo, throughApollo } = await setup();
    for (const query of ["{ other }", "{ hello other }", "mutation { hello }", "query A { hello } query B { hello }", "{ hello(nope: 1) }", "{ hello }"]) await throughApollo(query);
    expect(reads.size).toBe(1);
    await apollo.stop();
  });

  it("leaves to Apollo other methods, a trace, extensions, a wrong operationName, non-object variables, a refused Accept, an answer with errors, and all after close", async () => {
    const { reads, apollo, throughApollo, ask } = await setup();
    const query = "query Hi($name: String) { hello(name: $name) }";
    await throughApollo(query);
    expect(await reads.answer("GET", {}, { query }, context)).toBeUndefined();
    expect(await ask({ query }, { "apollo-federation-include-trace": "ftv1" })).toBeUndefined();
    expect(await ask({ query, extensions: {} })).toBeUndefined();
    expect(await ask({ query, operationName: "Other" })).toBeUndefined();
    expect(await ask({ query, variables: ["a"] })).toBeUndefined();
    expect(await ask({ query }, { accept: "text/plain" })).toBeUndefined();
    expect(await ask({ query, variables: { name: 42 } })).toBeUndefined(); // a variable of the wrong type: an error
    expect(await reads.answer("POST", {}, { query }, () => Promise.reject(new Error("no context")))).toBeUndefined();
    expect(await ask({ query })).toBeDefined();
    reads.close();
    expect(await ask({ query })).toBeUndefined();
    await apollo.stop();
  });

  it("remembers at most maxQueries queries of at most maxQueryLength characters", async () => {
    const { reads, apollo, throughApollo, ask } = await setup({ maxQueries: 2, maxQueryLength: 40 });
    await throughApollo(`{ hello(name: "${"x".repeat(40)}") }`);
    expect(reads.size).toBe(0);
    for (const name of ["a", "b", "c"]) await throughApollo(`{ hello(name: "${name}") }`);
    expect(reads.size).toBe(2);
    expect(await ask({ query: '{ hello(name: "c") }' })).toBeUndefined();
    expect(await ask({ query: '{ hello(name: "b") }' })).toBeDefined();
    await apollo.stop();
  });
});
