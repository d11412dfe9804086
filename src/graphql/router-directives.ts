import { Kind, visit, type ConstDirectiveNode, type DocumentNode } from "graphql";
import { getMetadataStorage } from "type-graphql";

/** The federation directives of authorization (v2.5+), imported by the subgraph's @link. */
export const AUTHORIZATION_DIRECTIVES = ["@authenticated", "@requiresScopes", "@policy"] as const;

const list = (values: readonly string[]) => ({ kind: Kind.LIST as const, values: [{ kind: Kind.LIST as const, values: values.map((value) => ({ kind: Kind.STRING as const, value })) }] });
const directive = (name: string, argument?: { name: string; values: readonly string[] }): ConstDirectiveNode => ({
  kind: Kind.DIRECTIVE,
  name: { kind: Kind.NAME, value: name },
  arguments: argument ? [{ kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: argument.name }, value: list(argument.values) }] : [],
});

/**
 * The router's view of a field's `@Authorized(...)` requirements, from the same declaration the
 * subgraph enforces: any requirement a user meets → `@authenticated`; `perm:`, `recent-mfa:` and
 * `recent-auth:` → also `@policy` (for a coprocessor that wants them); a field only service clients
 * call (`scope:` requirements and no `signed-in`) → `@requiresScopes` instead.
 */
export function routerDirectives(requirements: readonly string[]): ConstDirectiveNode[] {
  const scopes = requirements.filter((r) => r.startsWith("scope:")).map((r) => r.slice("scope:".length));
  const policies = requirements.filter((r) => !r.startsWith("scope:") && r !== "signed-in");
  if (scopes.length > 0 && !requirements.includes("signed-in")) return [directive("requiresScopes", { name: "scopes", values: scopes })];
  return [directive("authenticated"), ...(policies.length > 0 ? [directive("policy", { name: "policies", values: policies })] : [])];
}

/** Adds the router's directives to the root fields (Query, Mutation, Subscription) that `@Authorized` protects. */
export function withRouterDirectives(typeDefs: DocumentNode, resolverClasses: readonly unknown[]): DocumentNode {
  const storage = getMetadataStorage();
  const roots: Record<string, typeof storage.queries> = { Query: storage.queries, Mutation: storage.mutations, Subscription: storage.subscriptions };
  const requirementsOf = new Map<string, string[]>();
  for (const [type, fields] of Object.entries(roots)) {
    for (const field of fields) {
      if (!resolverClasses.includes(field.target)) continue;
      const authorized = storage.authorizedFields.find((a) => a.target === field.target && a.fieldName === field.methodName);
      if (authorized) requirementsOf.set(`${type}.${field.schemaName}`, authorized.roles as string[]);
    }
  }
  let parent = "";
  return visit(typeDefs, {
    ObjectTypeDefinition: { enter: (node) => void (parent = node.name.value) },
    ObjectTypeExtension: { enter: (node) => void (parent = node.name.value) },
    FieldDefinition: (node) => {
      const requirements = requirementsOf.get(`${parent}.${node.name.value}`);
      return requirements ? { ...node, directives: [...(node.directives ?? []), ...routerDirectives(requirements)] } : undefined;
    },
  });
}
