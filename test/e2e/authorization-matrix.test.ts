import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import {
  buildSchema,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  isAbstractType,
  type GraphQLField,
  type GraphQLInputType,
} from "graphql";
import { BUILT_IN_ROLES } from "../../src/modules/authz";
import { CreateServiceClientDocument } from "../support/generated/operations";
import { bearer, fromNewIp, useApp } from "../support/harness";

// SECURITY 39: every root field of the schema, called as every kind of caller (a service client
// too), against a declared
// table of who may call it. A field missing from the table fails the test, so a new operation
// cannot ship undeclared. "Refused" means the edge refused it (the auth checker's
// UNAUTHENTICATED "Authentication required", FORBIDDEN "Requires …", "Only service clients…" or "Not allowed to service
// clients"); anything else (data, or an
// error about the input or the object) got past function-level authorization.

/** "user-or-client": users, and service clients holding the field's scope (authz:check); "client-scope": service clients holding it only (trading_accounts:session). */
type Access = "anyone" | "user" | "user-or-client" | "client-scope" | `perm:${string}` | "recent-auth";
const ACCESS: Record<string, Access> = {
  // Queries
  user: "anyone",
  me: "user",
  mySessions: "user",
  myAuditEvents: "user",
  checkPermission: "user-or-client",
  checkPermissions: "user-or-client",
  myPermissions: "user",
  adminUsers: "perm:users:read",
  auditEvents: "perm:audit:read",
  myVerification: "user",
  myTradingAccounts: "user",
  tradingAccount: "user",
  tradingAccountStatus: "user",
  tradingAccountSession: "client-scope",
  myPreferences: "user",
  _entities: "anyone", // behind the router gate in production (ROUTER_SECRET), tested in http.test.ts
  _service: "anyone",
  // Mutations
  register: "anyone",
  verifyEmail: "anyone",
  resendVerificationEmail: "anyone",
  requestPasswordReset: "anyone",
  resetPassword: "anyone",
  login: "anyone",
  refreshTokens: "anyone",
  completeMfaLogin: "anyone",
  changePassword: "user",
  updateProfile: "user",
  logout: "user",
  revokeSession: "user",
  setupTotp: "recent-auth",
  enableTotp: "recent-auth",
  disableTotp: "user",
  regenerateBackupCodes: "user",
  stepUp: "user",
  grantPermission: "perm:permissions:grant",
  revokePermission: "perm:permissions:grant",
  assignRole: "perm:roles:assign",
  removeRole: "perm:roles:assign",
  createPolicy: "perm:policies:write",
  deletePolicy: "perm:policies:write",
  createServiceClient: "perm:service_clients:write",
  rotateServiceClientSecret: "perm:service_clients:write",
  disableServiceClient: "perm:service_clients:write",
  suspendUser: "perm:users:suspend",
  reactivateUser: "perm:users:suspend",
  startVerification: "user",
  uploadVerificationDocument: "user",
  submitVerification: "user",
  reviewVerification: "perm:kyc:review",
  linkTradingAccount: "perm:trading_accounts:link",
  updateTradingAccount: "user",
  unlinkTradingAccount: "user",
  verifyTradingAccount: "user",
  renewTradingAccountSession: "user",
  rotateTradingAccountCredentials: "user",
  shareTradingAccount: "user",
  removeTradingAccountMember: "user",
  updatePreferences: "user",
};

const ACTORS = ["anonymous", "user", "support", "compliance", "admin", "client"] as const;
type Actor = (typeof ACTORS)[number];

/** Whether `actor` may call a field of `access` (every signed-in actor logged in just now). */
function mayCall(access: Access, actor: Actor): boolean {
  if (access === "anyone") return true;
  if (actor === "anonymous") return false;
  if (actor === "client") return access === "user-or-client" || access === "client-scope";
  if (access === "client-scope") return false;
  if (access === "user" || access === "user-or-client" || access === "recent-auth") return true;
  const permission = access.slice("perm:".length);
  const roles = actor === "user" ? ["trader"] : [actor, "trader"];
  return roles.some((role) => (BUILT_IN_ROLES[role]?.permissions as readonly string[] | undefined)?.includes(permission));
}

/** A value of `type` that parses: the field's authorization, not its input, is what is tested. */
function sample(type: GraphQLInputType): unknown {
  if (isNonNullType(type)) return sample(type.ofType);
  if (isListType(type)) return [sample(type.ofType)];
  if (isEnumType(type)) return type.getValues()[0]?.value;
  if (isInputObjectType(type)) return Object.fromEntries(Object.values(type.getFields()).filter((f) => isNonNullType(f.type)).map((f) => [f.name, sample(f.type)]));
  const scalars: Record<string, unknown> = { ID: randomUUID(), String: "x", Int: 1, Float: 1, Boolean: false, DateTimeISO: new Date().toISOString(), JSON: {}, _Any: { __typename: "User", id: randomUUID() } };
  return scalars[type.name] ?? "x";
}

/** `root { field(args) { __typename } }` with variables for every required argument. */
function operationFor(root: "query" | "mutation", field: GraphQLField<unknown, unknown>): { query: string; variables: Record<string, unknown> } {
  const args = field.args.filter((a) => isNonNullType(a.type));
  const declared = args.map((a) => `$${a.name}: ${String(a.type)}`).join(", ");
  const passed = args.map((a) => `${a.name}: $${a.name}`).join(", ");
  const named = getNamedType(field.type);
  const selection = isObjectType(named) || isAbstractType(named) ? " { __typename }" : "";
  const query = `${root}${declared ? `(${declared})` : ""} { ${field.name}${passed ? `(${passed})` : ""}${selection} }`;
  return { query, variables: Object.fromEntries(args.map((a) => [a.name, sample(a.type)])) };
}

const h = useApp();

describe("SECURITY 39: the authorization matrix", () => {
  const users = new Map<Actor, { email: string; password: string }>();

  it("covers every root field of the schema, and each caller is refused exactly where the table says", async () => {
    const schema = buildSchema(readFileSync(path.resolve(__dirname, "../../schema/api.graphql"), "utf8"));
    const roots = { query: schema.getQueryType(), mutation: schema.getMutationType() } as const;
    const fields = Object.entries(roots).flatMap(([root, type]) => Object.values(type?.getFields() ?? {}).map((field) => ({ root: root as "query" | "mutation", field })));
    expect(fields.map((f) => f.field.name).sort()).toEqual(Object.keys(ACCESS).sort());

    // A service client with the scopes of the fields clients may call, created by an admin, its token from /oauth/token.
    const admin = await h.withRole("admin");
    const created = (await h.gql(CreateServiceClientDocument, { input: { name: "matrix", scopes: ["authz:check", "trading_accounts:session"] } }, admin.headers)).data?.createServiceClient;
    const clientToken = async () => {
      const form = new URLSearchParams({ grant_type: "client_credentials", client_id: created?.client.clientId ?? "", client_secret: created?.clientSecret ?? "" });
      const answer = await fetch(`${h.t.baseUrl}/oauth/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: form.toString() });
      return ((await answer.json()) as { access_token: string }).access_token;
    };
    for (const actor of ACTORS.filter((a) => a !== "anonymous" && a !== "client")) {
      const user = await h.verifiedUser();
      if (actor !== "user") await h.t.app.modules.authz.api.changeRole((await h.prisma.user.findUniqueOrThrow({ where: { email: user.email } })).id, actor, "assign");
      users.set(actor, user);
    }
    const mismatches: string[] = [];
    for (const { root, field } of fields) {
      const access = ACCESS[field.name] as Access;
      for (const actor of ACTORS) {
        // A fresh session per call: some fields end sessions (logout) or change the account.
        const token = actor === "anonymous" ? null : actor === "client" ? await clientToken() : (await h.signedIn(users.get(actor))).accessToken;
        const { query, variables } = operationFor(root, field);
        const res = await h.gql(query, variables, { ...fromNewIp(), ...(token ? bearer(token) : {}) });
        const error = res.errors?.[0];
        const refused = (error?.extensions?.code === "UNAUTHENTICATED" && error.message === "Authentication required") || (error?.extensions?.code === "FORBIDDEN" && /^(Requires |Not allowed to service clients$|Only service clients may use this field$)/.test(error.message));
        if (refused === mayCall(access, actor)) mismatches.push(`${field.name} as ${actor}: ${refused ? "refused" : "allowed"} (${error?.message ?? "no error"}), the table says ${access}`);
      }
    }
    expect(mismatches).toEqual([]);
  }, 240_000);
});
