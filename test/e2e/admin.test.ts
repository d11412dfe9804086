import { randomUUID } from "node:crypto";
import { generateSync } from "otplib";
import {
  AdminUsersDocument,
  EnableTotpDocument,
  LoginDocument,
  MeDocument,
  ReactivateUserDocument,
  RefreshTokensDocument,
  SetupTotpDocument,
  SuspendUserDocument,
  type AdminUserFilter,
  type AdminUsersQuery,
} from "../support/generated/operations";
import type { GraphQLResponse } from "../support/graphql";
import { PASSWORD, codeOf, fromNewIp, useApp, type SignedIn, type VerifiedUser } from "../support/harness";

const h = useApp();

const withRole = (role: string) => h.withRole(role);

const idOf = async (email: string) => (await h.prisma.user.findUniqueOrThrow({ where: { email }, select: { id: true } })).id;
const fieldsOf = (res: { errors?: { extensions?: Record<string, unknown> }[] }) => res.errors?.[0]?.extensions?.fields;

/** `count` verified users whose addresses start with one new tag (the filter that finds only them). */
async function tagged(count: number): Promise<{ tag: string; users: (VerifiedUser & { id: string })[] }> {
  const tag = `adm${randomUUID().slice(0, 8)}`;
  const users = [];
  for (let i = 0; i < count; i += 1) {
    const user = await h.verifiedUser({ email: `${tag}-${i}@example.test` });
    users.push({ ...user, id: await idOf(user.email) });
  }
  return { tag, users };
}

/** Every page of adminUsers for `filter`, `first` at a time. */
async function walk(admin: SignedIn, filter: AdminUserFilter, first: number) {
  const ids: string[] = [];
  let after: string | null = null;
  for (let pages = 1; ; pages += 1) {
    const res: GraphQLResponse<AdminUsersQuery> = await h.gql(AdminUsersDocument, { filter, first, after }, admin.headers);
    const page = res.data?.adminUsers;
    if (!page) throw new Error(JSON.stringify(res.errors));
    ids.push(...page.edges.map((e) => e.node.id));
    if (!page.pageInfo.hasNextPage) return { ids, pages };
    after = page.pageInfo.endCursor;
  }
}

describe("adminUsers", () => {
  it("lists users newest first with their private fields, roles and MFA status", async () => {
    const admin = await withRole("admin");
    const { tag, users } = await tagged(2);
    const enrolling = await h.signedIn(users[1]);
    const secret = (await h.gql(SetupTotpDocument, {}, enrolling.headers)).data?.setupTotp.secret as string;
    await h.gql(EnableTotpDocument, { code: generateSync({ secret, epoch: Math.floor(h.clock.now().getTime() / 1000) }) }, enrolling.headers);
    const res = await h.gql(AdminUsersDocument, { filter: { email: tag } }, admin.headers);
    expect(res.data?.adminUsers.edges.map((e) => e.node)).toEqual(
      [...users].reverse().map((u, i) => ({ id: u.id, email: u.email, status: "ACTIVE", roles: ["trader"], emailVerified: true, mfaEnabled: i === 0, createdAt: expect.any(String) })),
    );
    expect(res.data?.adminUsers.pageInfo).toEqual({ hasNextPage: false, endCursor: res.data?.adminUsers.edges[1]?.cursor });
  });

  it("walks every page once, in a stable order, even when users share a creation instant", async () => {
    const admin = await withRole("support"); // users:read is enough
    const { tag, users } = await tagged(7);
    const newestFirst = users.map((u) => u.id).reverse();
    expect(await walk(admin, { email: tag }, 3)).toEqual({ ids: newestFirst, pages: 3 });
    // Ties on created_at are broken by id: still every user exactly once.
    await h.prisma.user.updateMany({ where: { id: { in: users.map((u) => u.id) } }, data: { createdAt: new Date("2026-06-01T12:00:00.000Z") } });
    const tied = await walk(admin, { email: tag }, 2);
    expect(tied.pages).toBe(4);
    expect(tied.ids).toEqual([...newestFirst].sort().reverse());
  });

  it("filters by email prefix in any case, status, role and creation time", async () => {
    const admin = await withRole("admin");
    const { tag, users } = await tagged(4);
    const [a, b, c, d] = users as [(typeof users)[0], (typeof users)[0], (typeof users)[0], (typeof users)[0]];
    const ids = async (filter: AdminUserFilter) => (await h.gql(AdminUsersDocument, { filter: { email: tag, ...filter } }, admin.headers)).data?.adminUsers.edges.map((e) => e.node.id);
    expect(await ids({ email: tag.toUpperCase() })).toEqual([d.id, c.id, b.id, a.id]);
    expect(await ids({ email: `${tag}-2@EXAMPLE` })).toEqual([c.id]);
    expect(await ids({ email: `${tag}%` })).toEqual([]); // LIKE's wildcards are taken literally
    expect(await ids({ email: "_" })).toEqual([]);
    await h.gql(SuspendUserDocument, { id: b.id, reason: "filter test" }, admin.headers);
    expect(await ids({ status: "SUSPENDED" })).toEqual([b.id]);
    expect(await ids({ status: "ACTIVE" })).toEqual([d.id, c.id, a.id]);
    await h.t.app.modules.authz.api.changeRole(c.id, "compliance", "assign");
    expect(await ids({ role: "compliance" })).toEqual([c.id]);
    expect(await ids({ role: "no-such-role" })).toEqual([]);
    const created = await h.prisma.user.findMany({ where: { id: { in: [a.id, d.id] } }, select: { id: true, createdAt: true } });
    const at = (id: string) => created.find((u) => u.id === id)?.createdAt.toISOString() as string;
    expect(await ids({ createdAfter: at(a.id), createdBefore: at(d.id) })).toEqual([c.id, b.id]);
    expect(await ids({ createdAfter: at(a.id) })).toEqual([d.id, c.id, b.id]);
  });

  it("reads a page in one query, whatever its size (roles within it; the MFA status of its users batched)", async () => {
    const admin = await withRole("admin");
    const { tag } = await tagged(6);
    const seen: string[] = [];
    h.prisma.$on("query", (event) => seen.push(event.query));
    // The queries of the users' tables (the relay and the audit chainer poll others meanwhile).
    const readsOf = async (first: number) => {
      seen.length = 0;
      expect((await h.gql(AdminUsersDocument, { filter: { email: tag }, first }, admin.headers)).data?.adminUsers.edges).toHaveLength(first);
      return seen.filter((q) => /\busers\b|user_roles|mfa_totp/.test(q)).map((q) => (q.includes("FROM users u") ? "page" : q.includes("mfa_totp") ? "mfa" : q));
    };
    await readsOf(1); // the admin's permissions are read once, then kept
    expect(await readsOf(6)).toEqual(["page", "mfa"]);
    expect(await readsOf(1)).toEqual(["page", "mfa"]);
  });

  it("refuses bad input naming the field: first, a cursor it did not hand out, createdAfter after createdBefore", async () => {
    const admin = await withRole("admin");
    for (const first of [0, 101]) expect(fieldsOf(await h.gql(AdminUsersDocument, { first }, admin.headers))).toEqual([{ field: "first", message: "must be between 1 and 100" }]);
    for (const after of ["bm9wZQ", Buffer.from("audit:12").toString("base64url"), Buffer.from(`user:1:${randomUUID()}x`).toString("base64url")]) {
      expect(fieldsOf(await h.gql(AdminUsersDocument, { after }, admin.headers))).toEqual([{ field: "after", message: "is not a cursor from this list" }]);
    }
    const filter = { createdAfter: "2026-02-01T00:00:00.000Z", createdBefore: "2026-01-01T00:00:00.000Z" };
    expect(fieldsOf(await h.gql(AdminUsersDocument, { filter }, admin.headers))).toEqual([{ field: "filter.createdAfter", message: "must not be after filter.createdBefore" }]);
    expect(fieldsOf(await h.gql(AdminUsersDocument, { filter: { email: "a".repeat(255) } }, admin.headers))).toEqual([{ field: "filter.email", message: "must be at most 254 characters" }]);
  });
});

describe("suspendUser and reactivateUser", () => {
  it("a suspension ends every session at once (tokens refused, refresh fails, login fails as a wrong password); reactivation lets the user in again", async () => {
    const admin = await withRole("admin");
    const victim = await h.signedIn();
    const phone = await h.signedIn(victim);
    expect((await h.gql(MeDocument, {}, victim.headers)).data?.me.status).toBe("ACTIVE");
    const wrongPassword = await h.gql(LoginDocument, { input: { email: victim.email, password: "Wrong-Horse-42!" } }, fromNewIp());

    const suspended = await h.gql(SuspendUserDocument, { id: victim.user.id, reason: "  chargeback fraud, ticket 4711  " }, admin.headers);
    expect(suspended.data?.suspendUser).toEqual({ id: victim.user.id, status: "SUSPENDED" });
    for (const session of [victim, phone]) expect(codeOf(await h.gql(MeDocument, {}, session.headers))).toBe("UNAUTHENTICATED");
    expect(codeOf(await h.gql(RefreshTokensDocument, { refreshToken: phone.refreshToken }))).toBe("UNAUTHENTICATED");
    const login = await h.gql(LoginDocument, { input: { email: victim.email, password: PASSWORD } }, fromNewIp());
    expect(login.errors?.map((e) => ({ message: e.message, code: e.extensions?.code }))).toEqual(wrongPassword.errors?.map((e) => ({ message: e.message, code: e.extensions?.code })));
    expect(login.data ?? null).toEqual(wrongPassword.data ?? null);

    const events = await h.prisma.outboxEvent.findMany({ where: { destination: "user-events", name: { in: ["user.suspended", "session.revoked"] } }, orderBy: { seq: "asc" } });
    expect(events.filter((e) => e.aggregateId === victim.user.id).map((e) => [e.name, (e.payload as { actorId: string; data: unknown }).actorId, (e.payload as { data: unknown }).data])).toEqual([
      ["user.suspended", admin.user.id, { sessionsEnded: 2, by: admin.user.id }],
    ]);
    expect(events.filter((e) => [victim.session.id, phone.session.id].includes(e.aggregateId)).map((e) => (e.payload as { data: unknown }).data)).toEqual([
      { userId: victim.user.id, reason: "account_suspended" },
      { userId: victim.user.id, reason: "account_suspended" },
    ]);
    expect(await h.mailTo(victim.email, "account-suspended")).toMatchObject({ params: {} });
    expect(await h.audit({ action: "user.suspend", subjectId: victim.user.id })).toEqual([
      expect.objectContaining({ actorType: "user", actorId: admin.user.id, subjectType: "user", outcome: "success", metadata: { reason: "chargeback fraud, ticket 4711", previousStatus: "ACTIVE", sessionsEnded: 2 } }),
    ]);
    expect(fieldsOf(await h.gql(SuspendUserDocument, { id: victim.user.id, reason: "again" }, admin.headers))).toEqual([{ field: "id", message: "is already suspended" }]);

    expect((await h.gql(ReactivateUserDocument, { id: victim.user.id }, admin.headers)).data?.reactivateUser).toEqual({ id: victim.user.id, status: "ACTIVE" });
    const back = await h.signedIn(victim);
    expect((await h.gql(MeDocument, {}, back.headers)).data?.me.status).toBe("ACTIVE");
    expect(await h.prisma.outboxEvent.findMany({ where: { name: "user.reactivated", aggregateId: victim.user.id }, select: { payload: true } })).toEqual([
      { payload: expect.objectContaining({ actorId: admin.user.id, data: { status: "ACTIVE", by: admin.user.id } }) },
    ]);
    expect(await h.audit({ action: "user.reactivate", subjectId: victim.user.id })).toEqual([expect.objectContaining({ actorId: admin.user.id, outcome: "success", metadata: { status: "ACTIVE" } })]);
    expect(fieldsOf(await h.gql(ReactivateUserDocument, { id: victim.user.id }, admin.headers))).toEqual([{ field: "id", message: "is not suspended" }]);
  });

  it("an unverified account comes back pending verification", async () => {
    const admin = await withRole("admin");
    const email = `pending-${randomUUID()}@example.test`;
    await h.services.accounts.register({ email, password: PASSWORD }, { actor: { type: "anonymous", id: null }, ipAddress: fromNewIp()["x-forwarded-for"] });
    const id = await idOf(email);
    await h.gql(SuspendUserDocument, { id, reason: "spam sign-ups" }, admin.headers);
    expect((await h.gql(ReactivateUserDocument, { id }, admin.headers)).data?.reactivateUser).toEqual({ id, status: "PENDING_VERIFICATION" });
  });

  it("refuses a missing or long reason, oneself (FORBIDDEN) and unknown users (NOT_FOUND)", async () => {
    const admin = await withRole("admin");
    const { users } = await tagged(1);
    const id = users[0]?.id as string;
    for (const reason of ["", "   "]) expect(fieldsOf(await h.gql(SuspendUserDocument, { id, reason }, admin.headers))).toEqual([{ field: "reason", message: "is required" }]);
    expect(fieldsOf(await h.gql(SuspendUserDocument, { id, reason: "x".repeat(501) }, admin.headers))).toEqual([{ field: "reason", message: "must be at most 500 characters" }]);
    expect(fieldsOf(await h.gql(SuspendUserDocument, { id, reason: "a\u0000b" }, admin.headers))).toEqual([{ field: "reason", message: "must not contain control characters" }]);
    expect((await h.gql(SuspendUserDocument, { id, reason: "x".repeat(500) }, admin.headers)).data?.suspendUser.status).toBe("SUSPENDED");
    expect(codeOf(await h.gql(SuspendUserDocument, { id: admin.user.id, reason: "oops" }, admin.headers))).toBe("FORBIDDEN");
    expect(codeOf(await h.gql(MeDocument, {}, admin.headers))).toBeUndefined();
    expect(codeOf(await h.gql(SuspendUserDocument, { id: randomUUID(), reason: "ghost" }, admin.headers))).toBe("NOT_FOUND");
    expect(codeOf(await h.gql(ReactivateUserDocument, { id: randomUUID() }, admin.headers))).toBe("NOT_FOUND");
    expect(fieldsOf(await h.gql(ReactivateUserDocument, { id: "nope" }, admin.headers))).toEqual([{ field: "id", message: "must be a UUID" }]);
  });
});

it("SECURITY 39: every admin operation is FORBIDDEN without its permission and UNAUTHENTICATED anonymously", async () => {
  const user = await h.signedIn();
  const support = await withRole("support"); // users:read, not users:suspend
  const target = (await h.signedIn()).user.id;
  for (const caller of [user, support]) {
    expect(codeOf(await h.gql(SuspendUserDocument, { id: target, reason: "r" }, caller.headers))).toBe("FORBIDDEN");
    expect(codeOf(await h.gql(ReactivateUserDocument, { id: target }, caller.headers))).toBe("FORBIDDEN");
  }
  expect(codeOf(await h.gql(AdminUsersDocument, {}, user.headers))).toBe("FORBIDDEN");
  expect(codeOf(await h.gql(AdminUsersDocument, {}, support.headers))).toBeUndefined();
  expect(codeOf(await h.gql(AdminUsersDocument, {}))).toBe("UNAUTHENTICATED");
  expect(codeOf(await h.gql(SuspendUserDocument, { id: target, reason: "r" }))).toBe("UNAUTHENTICATED");
  expect((await h.prisma.user.findUniqueOrThrow({ where: { id: target } })).status).toBe("ACTIVE");
});
