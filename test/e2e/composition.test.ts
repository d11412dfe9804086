import { randomUUID } from "node:crypto";
import { composeServices } from "@apollo/composition";
import { ApolloGateway, RemoteGraphQLDataSource } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { buildSubgraphSchema } from "@apollo/subgraph";
import { parse } from "graphql";
import { startTestApp, type TestApp } from "../support/app";
import { graphql } from "../support/graphql";

/** A second subgraph, as another team would write it: reviews whose author is our User. */
const reviewsTypeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Review { id: ID! body: String! author: User }
  type User @key(fields: "id", resolvable: false) { id: ID! }
  type Query { topReviews: [Review!]! }
`);

let identity: TestApp;
let reviews: ApolloServer;
let gatewayServer: ApolloServer;
let gatewayUrl: string;
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
  const composed = composeServices([
    { name: "identity", url: `${identity.baseUrl}/graphql`, typeDefs: parse(sdl.data?._service.sdl ?? "") },
    { name: "reviews", url: reviewsUrl, typeDefs: reviewsTypeDefs },
  ]);
  expect(composed.errors).toBeUndefined();
  const gateway = new ApolloGateway({ supergraphSdl: composed.supergraphSdl, buildService: ({ url }) => new RemoteGraphQLDataSource({ url }) });
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
