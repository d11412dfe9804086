import "reflect-metadata";
import { buildSubgraphSchema, printSubgraphSchema } from "@apollo/subgraph";
import type { GraphQLResolverMap } from "@apollo/subgraph/dist/schema-helper";
import { printSchemaWithDirectives } from "@graphql-tools/utils";
import { parse, printSchema, type GraphQLSchema } from "graphql";
import { buildSchema, createResolversMap, type BuildSchemaOptions } from "type-graphql";
import type { Module, ReferenceResolver } from "../modules/module";
import type { PubSub } from "../platform/pubsub/pubsub";
import { createAuthChecker, requirementChecks, type RefusalRecorder } from "./auth-checker";
import { AUTHORIZATION_DIRECTIVES, withRouterDirectives } from "./router-directives";
import type { Clock } from "../platform/clock";
import type { Context } from "./context";
import { BadUserInputError, asError, type FieldProblem } from "../shared/errors";

/** Federation 2 directives this subgraph uses: keys, and the router's authorization directives (v2.5+). */
const FEDERATION_LINK = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ${JSON.stringify(["@key", ...AUTHORIZATION_DIRECTIVES])})`;

/** The key field (`@key`) of every entity of this subgraph, a string. */
const ENTITY_KEY = "id";

/**
 * Refuses, naming each, the representations `_entities` cannot resolve: one that names no entity
 * type (Apollo's resolver would throw a plain Error) or lacks its string key.
 */
function checkRepresentations(representations: readonly unknown[], entityTypes: readonly string[]): void {
  const problems = representations.flatMap((representation, i): FieldProblem[] => {
    const fields = typeof representation === "object" && representation !== null ? (representation as Record<string, unknown>) : {};
    if (typeof fields.__typename !== "string" || !entityTypes.includes(fields.__typename)) {
      return [{ field: `representations.${i}.__typename`, message: `must name an entity type (${entityTypes.join(", ")})` }];
    }
    return typeof fields[ENTITY_KEY] === "string" ? [] : [{ field: `representations.${i}.${ENTITY_KEY}`, message: "must be a string" }];
  });
  if (problems.length > 0) throw new BadUserInputError(problems);
}

/**
 * `_entities`' values: each type's references resolved by one call of its module's resolver, each
 * value in its representation's place and named for `_Entity` (`__typename`, not enumerable, as
 * Apollo's resolver does). When a type's resolver fails, each of its places holds the error, so
 * each reference gets it at its own path, as when Apollo resolved them one by one.
 */
export async function resolveEntities(representations: readonly Record<string, unknown>[], resolvers: Readonly<Record<string, ReferenceResolver>>, context: Context): Promise<unknown[]> {
  const byType = new Map<string, number[]>();
  representations.forEach((representation, i) => {
    const type = representation.__typename as string;
    const places = byType.get(type);
    if (places) places.push(i);
    else byType.set(type, [i]);
  });
  const values = new Array<unknown>(representations.length);
  await Promise.all(
    [...byType].map(async ([type, places]) => {
      const resolve = resolvers[type] as ReferenceResolver;
      const resolved = await resolve(places.map((i) => representations[i] as Record<string, unknown>), context).catch((error: unknown) => places.map(() => asError(error)));
      places.forEach((place, k) => {
        const value = resolved[k] ?? null;
        if (typeof value === "object" && value !== null && !(value instanceof Error)) Object.defineProperty(value, "__typename", { value: type });
        values[place] = value;
      });
    }),
  );
  return values;
}

/**
 * The modules' resolvers → type-graphql (resolver instances by their class; `@Authorized` decided by
 * the auth checker) → SDL with directives → @apollo/subgraph, which adds `_service`, `_entities` and
 * the `_Any`/`_Entity` types. `_entities` checks its representations first, then gives each
 * module all the references to its type at once (`resolveEntities`: any number costs one query, and
 * no promise a reference).
 */
export async function buildFederatedSchema(modules: readonly Module[], pubSub: PubSub, clock: Clock, refused?: RefusalRecorder): Promise<GraphQLSchema> {
  const instances = new Map<unknown, object>(modules.flatMap((module) => module.resolvers.map((resolver) => [resolver.constructor, resolver] as const)));
  const entities = Object.assign({}, ...modules.map((module) => module.entities ?? {})) as Record<string, NonNullable<Module["entities"]>[string]>;
  const schema = await buildSchema({
    resolvers: [...instances.keys()] as BuildSchemaOptions["resolvers"],
    container: {
      get: (resolverClass: unknown) => {
        const instance = instances.get(resolverClass);
        if (!instance) throw new Error(`no instance of resolver ${String((resolverClass as { name?: string }).name)}`);
        return instance;
      },
    },
    authChecker: createAuthChecker(clock, requirementChecks(modules.map((module) => module.decides)), refused),
    pubSub,
    validate: false,
    skipCheck: true,
  });
  const typeDefs = withRouterDirectives(parse(`${FEDERATION_LINK}\n${printSchemaWithDirectives(schema)}`), [...instances.keys()]);
  const resolvers = createResolversMap(schema) as GraphQLResolverMap<Context>;
  const entityResolvers = {
    Query: {
      ...(resolvers.Query as object),
      _entities: (_source: unknown, { representations }: { representations: readonly unknown[] }, context: Context) => {
        checkRepresentations(representations, Object.keys(entities));
        return resolveEntities(representations as readonly Record<string, unknown>[], entities, context);
      },
    },
  } as GraphQLResolverMap<Context>;
  return buildSubgraphSchema([{ typeDefs, resolvers: { ...resolvers, ...entityResolvers } }]);
}

/**
 * The schema files: `subgraph` is the SDL the router sees (`_service { sdl }`); `api` is the
 * executable schema as a client sees it, `_entities` and `_service` included (the codegen input).
 */
export function printSchemaFiles(schema: GraphQLSchema): { subgraph: string; api: string } {
  return { subgraph: printSubgraphSchema(schema), api: printSchema(schema) };
}
