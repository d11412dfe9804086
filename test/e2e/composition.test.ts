import { randomUUID } from "node:crypto";
import { composeServices } from "@apollo/composition";
import { ApolloGateway, RemoteGraphQLDataSource } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { buildSubgraphSchema } from "@apollo/subgraph";
import { Kind, parse, visit, type DocumentNode } from "graphql";
import { startTestApp, type TestApp } from "../support/app";
import { graphql } from "../support/graphql";

/** A second subgraph, as another team would write it: reviews whose author is our User. */
const reviewsTypeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Review { id: ID! body: String! author: User }
  type User @key(fields: "id", resolvable: false) { id: ID! }
  type Query { topReviews: [Review!]! }
`);

const AUTHORIZATION = new Set(["authenticated", "requiresScopes", "policy"]);

/** The subgraph SDL without the router's authorization directives (and their import). */
function withoutAuthorizationDirectives(typeDefs: DocumentNode): DocumentNode {
  return visit(typeDefs, {
    Directive: (node) => (AUTHORIZATION.has(node.name.value) ? null : undefined),
    ListValue: (node) => ({ ...node, values: node.values.filter((v) => !(v.kind === Kind.STRING && AUTHORIZATION.has(v.value.slice(1)))) }),
  });
}

let identity: TestApp;
let reviews: ApolloServer;
let gatewayServer: ApolloServer;
let gatewayUrl: string;
let supergraphSdl: string;
const authorId = randomUUID();

beforeAll(async () => {
  identity = await startTestApp();
  await identity.app.platform.database.prisma.user.create({ data: { id: authorId, email: "author@example.test", name: "Ada Author" } });
  const reviewsData = [
    { id: "r1", body: "Great broker", author: { __typename: "User", id: authorId } },
    { id: "r2", body: "Ghost review", author: { __typename: "User", id: randomUUID() } },
  ];
  reviews = new ApolloServer({ schema: buildSubgraphSchema([{ typeDefs: reviewsTypeDefs, resolvers: { Query: { topReviews: () => reviewsData } } }]) });
  const { url: reviewsUrl } = await startStandaloneServer(reviews, { listen: { port: 0, host: "127.0.0.1" } });

  const sdl = await graphql<{ _service: { sdl: string } }, never>(identity.baseUrl, "{ _service { sdl } }");
  const identityTypeDefs = parse(sdl.data?._service.sdl ?? "");
  const compose = (identityDefs: DocumentNode) =>
    composeServices([
      { name: "identity", url: `${identity.baseUrl}/graphql`, typeDefs: identityDefs },
      { name: "reviews", url: reviewsUrl, typeDefs: reviewsTypeDefs },
    ]);
  const composed = compose(identityTypeDefs);
  expect(composed.errors).toBeUndefined();
  supergraphSdl = composed.supergraphSdl ?? "";
  // Apollo's JS gateway refuses a supergraph with security features it cannot enforce (only the
  // router does): it gets the same subgraph without its authorization directives.
  const forGateway = compose(withoutAuthorizationDirectives(identityTypeDefs));
  expect(forGateway.errors).toBeUndefined();
  const gateway = new ApolloGateway({ supergraphSdl: forGateway.supergraphSdl, buildService: ({ url }) => new RemoteGraphQLDataSource({ url }) });
  gatewayServer = new ApolloServer({ gateway });
  gatewayUrl = (await startStandaloneServer(gatewayServer, { listen: { port: 0, host: "127.0.0.1" } })).url;
});

afterAll(async () => {
  await gatewayServer?.stop();
  await reviews?.stop();
  await identity?.stop();
});

it("composes with a subgraph that references User and answers a query crossing both over HTTP", async () => {
  const res = await fetch(gatewayUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: "{ topReviews { id body author { id displayName avatarUrl } } }" }),
  });
  const body = (await res.json()) as { data?: unknown; errors?: unknown };
  expect(body.errors).toBeUndefined();
  expect(body.data).toEqual({
    topReviews: [
      { id: "r1", body: "Great broker", author: { id: authorId, displayName: "Ada Author", avatarUrl: null } },
      { id: "r2", body: "Ghost review", author: null },
    ],
  });
});

it("SECURITY 39: the router's authorization directives survive composition, derived from the @Authorized the subgraph enforces", () => {
  const field = (name: string) => supergraphSdl.split("\n").find((line) => line.trimStart().startsWith(`${name}(`) || line.trimStart().startsWith(`${name}:`)) ?? "";
  expect(supergraphSdl).toMatch(/@link\(url: "https:\/\/specs.apollo.dev\/authenticated\/v0.1", for: SECURITY\)/);
  expect(supergraphSdl).toMatch(/@link\(url: "https:\/\/specs.apollo.dev\/policy\/v0.1", for: SECURITY\)/);
  expect(field("me")).toMatch(/@authenticated/);
  expect(field("grantPermission")).toMatch(/@authenticated @policy\(policies: \[\["perm:permissions:grant"\]\]\)/);
  expect(field("stepUp")).toMatch(/@authenticated/);
  // Open to everyone: no directive.
  expect(field("login")).not.toMatch(/@authenticated|@policy|@requiresScopes/);
  expect(field("topReviews")).not.toMatch(/@authenticated/);
});
