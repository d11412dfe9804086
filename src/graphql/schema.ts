import "reflect-metadata";
import { buildSubgraphSchema, printSubgraphSchema } from "@apollo/subgraph";
import type { GraphQLResolverMap } from "@apollo/subgraph/dist/schema-helper";
import { printSchemaWithDirectives } from "@graphql-tools/utils";
import { parse, printSchema, type GraphQLSchema } from "graphql";
import { buildSchema, createResolversMap } from "type-graphql";
import { AccountsResolver } from "../modules/accounts/accounts.resolver";
import { AuditResolver } from "../modules/audit/audit.resolver";
import { SessionsResolver } from "../modules/sessions/sessions.resolver";
import { UserPrivateResolver, UserResolver } from "../modules/users/user.resolver";
import { createMemoryPubSub, type PubSub } from "../platform/pubsub/pubsub";
import type { Context } from "./context";

/** Federation 2 directives this subgraph uses. */
const FEDERATION_LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])';

/** The resolver classes of every module. */
const RESOLVERS = [UserResolver, UserPrivateResolver, AccountsResolver, SessionsResolver, AuditResolver] as const;

/**
 * type-graphql → SDL with directives → @apollo/subgraph, which adds `_service`, `_entities` and
 * the `_Any`/`_Entity` types. `User.__resolveReference` goes through the request's loader, so any
 * number of references costs one query.
 */
export async function buildFederatedSchema(pubSub: PubSub): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    resolvers: RESOLVERS,
    pubSub,
    validate: false,
    skipCheck: true,
  });
  const typeDefs = parse(`${FEDERATION_LINK}\n${printSchemaWithDirectives(schema)}`);
  const resolvers = createResolversMap(schema) as GraphQLResolverMap<Context>;
  const entityResolvers = {
    User: {
      ...(resolvers.User as object),
      __resolveReference: (reference: { id: string }, context: Context) => context.loaders.user.load(reference.id),
    },
  } as GraphQLResolverMap<Context>;
  return buildSubgraphSchema([{ typeDefs, resolvers: { ...resolvers, ...entityResolvers } }]);
}

/**
 * The schema files, built without a database: `subgraph` is the SDL the router sees
 * (`_service { sdl }`); `api` is the executable schema as a client sees it, `_entities` and
 * `_service` included (the codegen input).
 */
export async function schemaFiles(): Promise<{ subgraph: string; api: string }> {
  const schema = await buildFederatedSchema(createMemoryPubSub());
  return { subgraph: printSubgraphSchema(schema), api: printSchema(schema) };
}
