import "reflect-metadata";
import { buildSubgraphSchema, printSubgraphSchema } from "@apollo/subgraph";
import type { GraphQLResolverMap } from "@apollo/subgraph/dist/schema-helper";
import { entitiesResolver } from "@apollo/subgraph/dist/types";
import { printSchemaWithDirectives } from "@graphql-tools/utils";
import { parse, printSchema, type GraphQLResolveInfo, type GraphQLSchema } from "graphql";
import { buildSchema, createResolversMap } from "type-graphql";
import { AccountsResolver } from "../modules/accounts/accounts.resolver";
import { AuditResolver } from "../modules/audit/audit.resolver";
import { SessionsResolver } from "../modules/sessions/sessions.resolver";
import { UserPrivateResolver, UserResolver } from "../modules/users/user.resolver";
import { createMemoryPubSub, type PubSub } from "../platform/pubsub/pubsub";
import type { Context } from "./context";
import { BadUserInputError, type FieldProblem } from "./errors";

/** Federation 2 directives this subgraph uses. */
const FEDERATION_LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])';

/** The resolver classes of every module. */
const RESOLVERS = [UserResolver, UserPrivateResolver, AccountsResolver, SessionsResolver, AuditResolver] as const;

/** The entity types of this subgraph and the field each is keyed by (its `@key`), a string. */
const ENTITY_KEYS = new Map([["User", "id"]]);

/**
 * Refuses, naming each, the representations `_entities` cannot resolve: one that names no entity
 * type (Apollo's resolver would throw a plain Error) or lacks its string key.
 */
function checkRepresentations(representations: readonly unknown[]): void {
  const problems = representations.flatMap((representation, i): FieldProblem[] => {
    const fields = typeof representation === "object" && representation !== null ? (representation as Record<string, unknown>) : {};
    const key = typeof fields.__typename === "string" ? ENTITY_KEYS.get(fields.__typename) : undefined;
    if (key === undefined) return [{ field: `representations.${i}.__typename`, message: `must name an entity type (${[...ENTITY_KEYS.keys()].join(", ")})` }];
    return typeof fields[key] === "string" ? [] : [{ field: `representations.${i}.${key}`, message: "must be a string" }];
  });
  if (problems.length > 0) throw new BadUserInputError(problems);
}

/**
 * type-graphql → SDL with directives → @apollo/subgraph, which adds `_service`, `_entities` and
 * the `_Any`/`_Entity` types. `_entities` checks its representations first; `User.__resolveReference`
 * goes through the request's loader, so any number of references costs one query.
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
    Query: {
      ...(resolvers.Query as object),
      _entities: (_source: unknown, { representations }: { representations: readonly unknown[] }, context: Context, info: GraphQLResolveInfo) => {
        checkRepresentations(representations);
        return entitiesResolver({ representations, context, info });
      },
    },
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
