// What RememberedOperations remembers from Apollo, and how it answers (a small schema, a real ApolloServer).
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginCacheControlDisabled } from "@apollo/server/plugin/disabled";
import { GraphQLError, buildSchema, type GraphQLFormattedError } from "graphql";
import type { Context } from "../../src/graphql/context";
import { RememberedOperations } from "../../src/graphql/remembered-operations";
import { createLogger } from "../../src/platform/logging/logger";
import { Metrics } from "../../src/platform/metrics/metrics";

const schema = buildSchema(`type Query { hello(name: String): String, other: String, fails(how: String!): String } type Mutation { hello: String, other: String }`);
const resolvers: Record<string, Record<string, (root: unknown, args: Record<string, string>) => unknown>> = {
  Query: {
    hello: (_, { name }) => `hello ${name ?? "you"}`,
    fails: (_, { how }) => {
      if (how === "teapot") throw new GraphQLError("I am a teapot", { extensions: { code: "TEAPOT", http: { status: 418, headers: new Map([["x-teapot", "short"]]) } } });
      throw new Error("hidden");
    },
  },
  Mutation: { hello: () => "hello from a mutation" },
};
for (const [type, fields] of Object.entries(resolvers)) {
  const object = type === "Query" ? schema.getQueryType() : schema.getMutationType();
  for (const [name, resolve] of Object.entries(fields)) {
    const field = object?.getFields()[name];
    if (field) field.resolve = resolve;
  }
}
const formatError = (formatted: GraphQLFormattedError) => ({ ...formatted, message: `formatted: ${formatted.message}` });
const context = async () => ({ logger: createLogger({ level: "silent" }) }) as Context;

async function setup(options: { maxOperations?: number; maxQueryLength?: number } = {}) {
  const remembered = new RememberedOperations({ schema, metrics: new Metrics(), formatError, rootFields: ["hello", "fails"], ...options });
  // As the app configures Apollo: no stack traces, no cache-control hints (the plugin's header).
  const apollo = new ApolloServer<Context>({ schema, formatError, includeStacktraceInErrorResponses: false, plugins: [ApolloServerPluginCacheControlDisabled(), remembered.plugin] });
  await apollo.start();
  /** Apollo executes it (and so validates it) first; then RememberedOperations is asked. */
  const throughApollo = async (query: string, variables?: Record<string, unknown>) => {
    const { body, http } = await apollo.executeOperation({ query, variables }, { contextValue: await context() });
    return { result: body.kind === "single" ? body.singleResult : undefined, http };
  };
  const ask = (body: unknown, headers: Record<string, string> = {}) => remembered.answer("POST", headers, body, context);
  return { remembered, apollo, throughApollo, ask };
}

describe("RememberedOperations", () => {
  it("answers an operation only once Apollo has validated it, as Apollo answers it (data and a newline, the negotiated type)", async () => {
    const { apollo, throughApollo, ask } = await setup();
    const query = "query Hi($name: String) { hello(name: $name) }";
    expect(await ask({ query, variables: { name: "a" } })).toBeUndefined();
    const { result } = await throughApollo(query, { name: "a" });
    expect(result).toEqual({ data: { hello: "hello a" } });
    expect(await ask({ query, variables: { name: "a" } })).toEqual({ status: 200, headers: new Map(), contentType: "application/json; charset=utf-8", body: `${JSON.stringify(result)}\n` });
    const graphqlResponse = await ask({ query, operationName: "Hi" }, { accept: "application/graphql-response+json" });
    expect([graphqlResponse?.contentType, graphqlResponse?.body]).toEqual(["application/graphql-response+json; charset=utf-8", '{"data":{"hello":"hello you"}}\n']);
    await throughApollo("mutation { hello }");
    expect((await ask({ query: "mutation { hello }" }))?.body).toBe('{"data":{"hello":"hello from a mutation"}}\n');
    await apollo.stop();
  });

  it("formats errors raised while executing as Apollo does: errors first, the code defaulted, extensions.http taken for the status and headers, then formatError", async () => {
    const { apollo, throughApollo, ask } = await setup();
    const query = "query Fails($how: String!) { fails(how: $how) }";
    for (const how of ["teapot", "hidden"]) {
      const { result, http } = await throughApollo(query, { how });
      const answer = await ask({ query, variables: { how } });
      expect(answer?.body).toBe(`${JSON.stringify({ errors: result?.errors, data: result?.data })}\n`);
      expect([answer?.status, Object.fromEntries(answer?.headers ?? [])]).toEqual([http.status ?? 200, Object.fromEntries(http.headers)]);
    }
    const teapot = await ask({ query, variables: { how: "teapot" } });
    expect([teapot?.status, teapot?.headers.get("x-teapot"), JSON.parse(teapot?.body ?? "{}")]).toEqual([
      418,
      "short",
      { errors: [{ message: "formatted: I am a teapot", locations: [{ line: 1, column: 30 }], path: ["fails"], extensions: { code: "TEAPOT" } }], data: { fails: null } },
    ]);
    const hidden = JSON.parse((await ask({ query, variables: { how: "hidden" } }))?.body ?? "{}") as { errors: GraphQLFormattedError[] };
    expect(hidden.errors[0]?.extensions).toEqual({ code: "INTERNAL_SERVER_ERROR" });
    await apollo.stop();
  });

  it("remembers single queries and mutations selecting only the listed root fields, and no invalid one", async () => {
    const { remembered, apollo, throughApollo } = await setup();
    for (const query of ["{ other }", "{ hello other }", "mutation { other }", "mutation { hello other }", "query A { hello } query B { hello }", "{ hello(nope: 1) }", "{ hello }", "mutation { hello }"]) await throughApollo(query);
    expect(remembered.size).toBe(2);
    await apollo.stop();
  });

  it("leaves to Apollo other methods, a trace, extensions, a wrong operationName, bad variables, a refused Accept, a failed context, and all after close", async () => {
    const { remembered, apollo, throughApollo, ask } = await setup();
    const query = "query Hi($name: String) { hello(name: $name) }";
    await throughApollo(query);
    expect(await remembered.answer("GET", {}, { query }, context)).toBeUndefined();
    expect(await ask({ query }, { "apollo-federation-include-trace": "ftv1" })).toBeUndefined();
    expect(await ask({ query, extensions: {} })).toBeUndefined();
    expect(await ask({ query, operationName: "Other" })).toBeUndefined();
    expect(await ask({ query, variables: ["a"] })).toBeUndefined();
    expect(await ask({ query, variables: { name: 42 } })).toBeUndefined(); // refused before anything ran: Apollo words it
    expect(await ask({ query }, { accept: "text/plain" })).toBeUndefined();
    expect(await remembered.answer("POST", {}, { query }, () => Promise.reject(new Error("no context")))).toBeUndefined();
    expect(await ask({ query })).toBeDefined();
    remembered.close();
    expect(await ask({ query })).toBeUndefined();
    await apollo.stop();
  });

  it("remembers at most maxOperations operations of at most maxQueryLength characters", async () => {
    const { remembered, apollo, throughApollo, ask } = await setup({ maxOperations: 2, maxQueryLength: 40 });
    await throughApollo(`{ hello(name: "${"x".repeat(40)}") }`);
    expect(remembered.size).toBe(0);
    for (const name of ["a", "b", "c"]) await throughApollo(`{ hello(name: "${name}") }`);
    expect(remembered.size).toBe(2);
    expect(await ask({ query: '{ hello(name: "c") }' })).toBeUndefined();
    expect(await ask({ query: '{ hello(name: "b") }' })).toBeDefined();
    await apollo.stop();
  });
});
