import { decodeJwt } from "jose";
import { BUILT_IN_ROLES } from "../../src/modules/authz";
import {
  AssignRoleDocument,
  CheckPermissionDocument,
  CheckPermissionsDocument,
  CreatePolicyDocument,
  DeletePolicyDocument,
  GrantPermissionDocument,
  MyPermissionsDocument,
  RefreshTokensDocument,
  RemoveRoleDocument,
  RevokePermissionDocument,
  type CheckPermissionInput,
  type PolicyInput,
} from "../support/generated/operations";
import { graphql } from "../support/graphql";
import { bearer, codeOf, useApp, type SignedIn } from "../support/harness";
import { waitUntil } from "../support/wait";

const h = useApp();

const withRole = (role: string) => h.withRole(role);

const check = async (user: SignedIn, input: CheckPermissionInput) => (await h.gql(CheckPermissionDocument, { input }, user.headers)).data?.checkPermission;
let policies = 0;
const policyInput = (input: Partial<PolicyInput> & Pick<PolicyInput, "effect" | "subjects" | "actions">): PolicyInput => ({ name: `test-policy-${(policies += 1)}-${Date.now()}`, ...input });

describe("roles and the catalogue", () => {
  it("the built-in roles in the database are the catalogue's, permission for permission", async () => {
    const rows = await h.prisma.rolePermission.findMany({ where: { role: { in: Object.keys(BUILT_IN_ROLES) } } });
    const stored = Object.fromEntries(Object.keys(BUILT_IN_ROLES).map((role) => [role, rows.filter((r) => r.role === role).map((r) => r.permission).sort()]));
    expect(stored).toEqual(Object.fromEntries(Object.entries(BUILT_IN_ROLES).map(([role, { permissions }]) => [role, [...permissions].sort()])));
  });

  it("registration makes a trader: myPermissions lists the role's permissions, checkPermission says which rule decided", async () => {
    const user = await h.signedIn();
    expect(decodeJwt(user.accessToken).roles).toEqual(["trader"]);
    expect((await h.gql(MyPermissionsDocument, {}, user.headers)).data?.myPermissions).toEqual(
      ["market:read", "trading:orders:place", "trading_accounts:link"].map((permission) => ({ permission, source: "role:trader", expiresAt: null })),
    );
    expect(await check(user, { permission: "market:read" })).toEqual({ allowed: true, reason: "role trader grants market:read" });
    expect(await check(user, { permission: "users:suspend" })).toEqual({ allowed: false, reason: "no rule allows users:suspend" });
    const batch = (await h.gql(CheckPermissionsDocument, { inputs: [{ permission: "users:read" }, { permission: "market:read" }] }, user.headers)).data?.checkPermissions;
    expect(batch?.map((d) => d.allowed)).toEqual([false, true]);
  });

  it("SECURITY 22: a role change applies to checkPermission at once and to the token at the next refresh", async () => {
    const admin = await withRole("admin");
    const user = await h.signedIn();
    expect((await check(user, { permission: "users:read" }))?.allowed).toBe(false);
    expect((await h.gql(AssignRoleDocument, { userId: user.user.id, role: "support" }, admin.headers)).data?.assignRole.roles).toEqual(["support", "trader"]);
    expect(await check(user, { permission: "users:read" })).toEqual({ allowed: true, reason: "role support grants users:read" });
    expect(decodeJwt(user.accessToken).roles).toEqual(["trader"]);
    const refreshed = (await h.gql(RefreshTokensDocument, { refreshToken: user.refreshToken })).data?.refreshTokens;
    expect(decodeJwt(refreshed?.accessToken as string).roles).toEqual(["support", "trader"]);
    await h.gql(RemoveRoleDocument, { userId: user.user.id, role: "support" }, admin.headers);
    expect((await check(user, { permission: "users:read" }))?.allowed).toBe(false);
    expect(await h.prisma.outboxEvent.count({ where: { name: { in: ["role.assigned", "role.removed"] }, aggregateId: user.user.id } })).toBe(3); // trader at registration, support, removed
    expect(codeOf(await h.gql(AssignRoleDocument, { userId: user.user.id, role: "wizard" }, admin.headers))).toBe("BAD_USER_INPUT");
  });

  it("SECURITY 39: admin operations need their permission: a trader is FORBIDDEN, anonymous UNAUTHENTICATED", async () => {
    const user = await h.signedIn();
    expect(codeOf(await h.gql(AssignRoleDocument, { userId: user.user.id, role: "admin" }, user.headers))).toBe("FORBIDDEN");
    expect(codeOf(await h.gql(GrantPermissionDocument, { input: { userId: user.user.id, permission: "users:read" } }, user.headers))).toBe("FORBIDDEN");
    expect(codeOf(await h.gql(CreatePolicyDocument, { input: policyInput({ effect: "ALLOW", subjects: ["*"], actions: ["*"] }) }, user.headers))).toBe("FORBIDDEN");
    expect(codeOf(await h.gql(AssignRoleDocument, { userId: user.user.id, role: "admin" }))).toBe("UNAUTHENTICATED");
    expect((await check(user, { permission: "market:read" }))?.allowed).toBe(true);
    // SECURITY 60: each refusal of a known caller is audited as denied, naming the field and the requirement.
    const denied = await h.auditedAtLeast(3, { actorId: user.user.id, outcome: "denied" });
    expect(denied.map((row) => [row.action, (row.metadata as { reason: string }).reason])).toEqual([
      ["graphql.assignRole", "Requires perm:roles:assign"],
      ["graphql.grantPermission", "Requires perm:permissions:grant"],
      ["graphql.createPolicy", "Requires perm:policies:write"],
    ]);
  });

  it("checking another user's permission needs authz:read (compliance has it)", async () => {
    const user = await h.signedIn();
    const other = await h.signedIn();
    expect(codeOf(await h.gql(CheckPermissionDocument, { input: { permission: "market:read", userId: other.user.id } }, user.headers))).toBe("FORBIDDEN");
    const compliance = await withRole("compliance");
    expect(await check(compliance, { permission: "market:read", userId: other.user.id })).toEqual({ allowed: true, reason: "role trader grants market:read" });
    expect(codeOf(await h.gql(CheckPermissionDocument, { input: { permission: "Not A Name" } }, user.headers))).toBe("BAD_USER_INPUT");
  });
});

describe("private fields", () => {
  it("SECURITY 38, 40: another user's private fields are null, except for holders of users:read", async () => {
    const target = await h.signedIn();
    const peer = await h.signedIn();
    const support = await withRole("support");
    const query = "query($id: ID!) { user(id: $id) { id displayName email status roles } }";
    const asPeer = (await h.gql<{ user: Record<string, unknown> }, { id: string }>(query, { id: target.user.id }, peer.headers)).data?.user;
    expect(asPeer).toMatchObject({ id: target.user.id, email: null, status: null, roles: null });
    const asSupport = (await h.gql<{ user: Record<string, unknown> }, { id: string }>(query, { id: target.user.id }, support.headers)).data?.user;
    expect(asSupport).toMatchObject({ id: target.user.id, email: target.email, status: "ACTIVE", roles: ["trader"] });
    const anonymous = (await h.gql<{ user: Record<string, unknown> }, { id: string }>(query, { id: target.user.id })).data?.user;
    expect(anonymous).toMatchObject({ email: null });
  });
});

describe("grants and policies", () => {
  it("a grant applies at once and stops at its expiry; revoking it ends it", async () => {
    const admin = await withRole("admin");
    const user = await h.signedIn();
    const expiresAt = new Date(h.clock.now().getTime() + 10 * 60_000);
    const grant = (await h.gql(GrantPermissionDocument, { input: { userId: user.user.id, permission: "reports:export", expiresAt: expiresAt.toISOString(), reason: "quarter close" } }, admin.headers)).data?.grantPermission;
    expect(grant).toMatchObject({ userId: user.user.id, permission: "reports:export" });
    expect(await check(user, { permission: "reports:export" })).toEqual({ allowed: true, reason: `a grant gives reports:export until ${expiresAt.toISOString()}` });
    expect((await h.gql(MyPermissionsDocument, {}, user.headers)).data?.myPermissions).toContainEqual({ permission: "reports:export", source: "grant", expiresAt: expiresAt.toISOString() });
    h.clock.offsetMs = 11 * 60_000; // within the access token's life
    expect((await check(user, { permission: "reports:export" }))?.allowed).toBe(false);
    h.clock.offsetMs = 0;
    expect((await h.gql(RevokePermissionDocument, { id: grant?.id as string }, admin.headers)).data?.revokePermission).toBe(true);
    expect((await check(user, { permission: "reports:export" }))?.allowed).toBe(false);
    expect(codeOf(await h.gql(RevokePermissionDocument, { id: grant?.id as string }, admin.headers))).toBe("NOT_FOUND");
  });

  it("a DENY policy beats an ALLOW grant and a role, whatever the priority, and its name is the reason; deleting it restores them", async () => {
    const admin = await withRole("admin");
    const user = await h.signedIn();
    await h.gql(GrantPermissionDocument, { input: { userId: user.user.id, permission: "reports:export" } }, admin.headers);
    const input = policyInput({ effect: "DENY", priority: -100, subjects: [`user:${user.user.id}`], actions: ["reports:*", "market:read"] });
    const policy = (await h.gql(CreatePolicyDocument, { input }, admin.headers)).data?.createPolicy;
    expect(policy).toMatchObject({ name: input.name, effect: "DENY", priority: -100 });
    expect(await check(user, { permission: "reports:export" })).toEqual({ allowed: false, reason: `policy ${input.name} denies` });
    expect(await check(user, { permission: "market:read" })).toEqual({ allowed: false, reason: `policy ${input.name} denies` });
    expect(await h.prisma.outboxEvent.count({ where: { name: "policy.created", aggregateId: policy?.id } })).toBe(1);
    await h.gql(DeletePolicyDocument, { id: policy?.id as string }, admin.headers);
    expect((await check(user, { permission: "reports:export" }))?.allowed).toBe(true);
  });

  it("a Cedar condition allows and denies by resource attributes and the check's context", async () => {
    const admin = await withRole("admin");
    const user = await h.signedIn();
    const input = policyInput({
      effect: "ALLOW",
      subjects: ["role:trader"],
      actions: ["orders:approve"],
      resources: ["order:*"],
      condition: 'resource.attributes.amount < 1000 && context.input.channel == "web"',
    });
    expect((await h.gql(CreatePolicyDocument, { input }, admin.headers)).data?.createPolicy.name).toBe(input.name);
    const order = (amount: number, channel?: string) => check(user, { permission: "orders:approve", resource: { type: "order", id: "o-1", attributes: { amount } }, context: channel ? { channel } : {} });
    expect(await order(500, "web")).toEqual({ allowed: true, reason: `policy ${input.name} allows` });
    expect((await order(5000, "web"))?.allowed).toBe(false);
    expect((await order(500, "phone"))?.allowed).toBe(false);
    // A condition that cannot be evaluated (no channel given) does not allow (fails closed).
    expect(await order(500)).toEqual({ allowed: false, reason: "no rule allows orders:approve" });
  });

  it("a DENY whose condition cannot be evaluated denies (fails closed), naming the policy", async () => {
    const admin = await withRole("admin");
    const user = await h.signedIn();
    const input = policyInput({ effect: "DENY", subjects: [`user:${user.user.id}`], actions: ["market:read"], condition: "context.input.region == \"eu\"" });
    await h.gql(CreatePolicyDocument, { input }, admin.headers);
    expect(await check(user, { permission: "market:read", context: { region: "us" } })).toEqual({ allowed: true, reason: "role trader grants market:read" });
    expect(await check(user, { permission: "market:read" })).toEqual({ allowed: false, reason: `policy ${input.name} denies (its condition could not be evaluated)` });
  });

  it("a bad condition is refused naming condition, with Cedar's message; nothing is stored", async () => {
    const admin = await withRole("admin");
    for (const [condition, message] of [
      ["principal.kycStatus ==", /unexpected token/],
      ["principal.favouriteColour == \"red\"", /attribute `favouriteColour` on entity type `Principal` not found/],
      ['resource.attributes.amount < "many"', /expected Long but saw String/],
    ] as const) {
      const input = policyInput({ effect: "ALLOW", subjects: ["*"], actions: ["market:read"], condition });
      const res = await h.gql(CreatePolicyDocument, { input }, admin.headers);
      expect(codeOf(res)).toBe("BAD_USER_INPUT");
      const fields = res.errors?.[0]?.extensions?.fields as { field: string; message: string }[];
      expect(fields[0]?.field).toBe("input.condition");
      expect(fields[0]?.message).toMatch(message);
      expect(await h.prisma.policy.count({ where: { name: input.name } })).toBe(0);
    }
  });

  it("a condition cannot close its clause to widen the policy (one balanced expression only); a type-only resource pattern covers every id of the type", async () => {
    const admin = await withRole("admin");
    for (const condition of ["true) || (true", "true } when { true", "true }; permit (principal, action, resource) when { true"]) {
      const res = await h.gql(CreatePolicyDocument, { input: policyInput({ effect: "ALLOW", subjects: [`user:${admin.user.id}`], actions: ["foo:bar"], condition }) }, admin.headers);
      expect([codeOf(res), (res.errors?.[0]?.extensions?.fields as { field: string }[])?.[0]?.field]).toEqual(["BAD_USER_INPUT", "input.condition"]);
    }
    const user = await h.signedIn();
    await h.gql(GrantPermissionDocument, { input: { userId: user.user.id, permission: "reports:read" } }, admin.headers);
    const input = policyInput({ effect: "DENY", subjects: [`user:${user.user.id}`], actions: ["reports:read"], resources: ["report"] });
    await h.gql(CreatePolicyDocument, { input }, admin.headers);
    expect(await check(user, { permission: "reports:read", resource: { type: "report", id: "r-1" } })).toEqual({ allowed: false, reason: `policy ${input.name} denies` });
    expect((await check(user, { permission: "reports:read", resource: { type: "dashboard", id: "d-1" } }))?.allowed).toBe(true);
  });

  it("a suspended account is denied whatever its roles; checks are bounded (50 at once, 4 KB of JSON each)", async () => {
    const admin = await withRole("admin");
    const target = await h.signedIn();
    expect((await check(admin, { permission: "market:read", userId: target.user.id }))?.allowed).toBe(true);
    await h.gql("mutation($id: ID!) { suspendUser(id: $id, reason: \"test\") { id } }", { id: target.user.id }, admin.headers);
    expect(await check(admin, { permission: "market:read", userId: target.user.id })).toEqual({ allowed: false, reason: "the account is not active" });
    const many = await h.gql(CheckPermissionsDocument, { inputs: Array.from({ length: 51 }, () => ({ permission: "market:read" })) }, admin.headers);
    expect((many.errors?.[0]?.extensions?.fields as { field: string }[])?.[0]?.field).toBe("inputs");
    const big = await h.gql(CheckPermissionDocument, { input: { permission: "market:read", context: { blob: "x".repeat(5000) } } }, admin.headers);
    expect((big.errors?.[0]?.extensions?.fields as { field: string }[])?.[0]?.field).toBe("input.context");
  });

  it("SECURITY 64: a stored policy set that cannot be loaded denies every decision", async () => {
    const user = await h.signedIn();
    const broken = await h.prisma.policy.create({ data: { id: crypto.randomUUID(), name: `broken-${Date.now()}`, effect: "ALLOW", subjects: ["*"], actions: ["*"], condition: "this is not cedar" } });
    try {
      await h.t.app.modules.authz.api.changeRole(user.user.id, "viewer", "assign"); // any change: caches are dropped… but not the policies'
      const admin = await withRole("admin");
      // A policy change makes every instance load the policies again: the broken one fails the load.
      await h.gql(DeletePolicyDocument, { id: (await h.gql(CreatePolicyDocument, { input: policyInput({ effect: "ALLOW", subjects: ["*"], actions: ["x:y"] }) }, admin.headers)).data?.createPolicy.id as string }, admin.headers);
      expect(await check(user, { permission: "market:read" })).toEqual({ allowed: false, reason: "the decision could not be made" });
    } finally {
      await h.prisma.policy.delete({ where: { id: broken.id } });
    }
  });

  it("trading:orders:place is decided on a named trading account only; on one the user is no member of, it is denied", async () => {
    const user = await h.signedIn();
    expect(await check(user, { permission: "trading:orders:place" })).toEqual({ allowed: false, reason: 'trading:orders:place is decided on a trading_account only: name one (resource: { type: "trading_account", id })' });
    expect(await check(user, { permission: "trading:orders:place", resource: { type: "trading_account", id: "not-an-id" } })).toEqual({ allowed: false, reason: "no trading_account has the id not-an-id" });
    expect((await check(user, { permission: "trading:orders:place", resource: { type: "trading_account", id: crypto.randomUUID() } }))?.allowed).toBe(false);
  });
});

describe("across instances", () => {
  it("a policy created on one instance applies at once on another (pub/sub invalidates its cache)", async () => {
    const other = await h.anotherInstance();
    try {
      const admin = await withRole("admin");
      const user = await h.signedIn();
      const onOther = async () => (await graphql(other.baseUrl, CheckPermissionDocument, { input: { permission: "market:read" } }, bearer(user.accessToken))).data?.checkPermission;
      expect((await onOther())?.allowed).toBe(true); // and now cached there
      const input = policyInput({ effect: "DENY", subjects: [`user:${user.user.id}`], actions: ["market:read"] });
      await h.gql(CreatePolicyDocument, { input }, admin.headers);
      expect(await waitUntil("the other instance to apply the policy", async () => ((await onOther())?.allowed === false ? onOther() : null), 5_000)).toEqual({ allowed: false, reason: `policy ${input.name} denies` });
    } finally {
      await other.app.stop();
    }
  });
});
