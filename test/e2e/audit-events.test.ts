import { randomUUID } from "node:crypto";
import { AuditEventsDocument, LoginDocument, type AuditEventFilter, type AuditEventsQuery, type AuditEventsQueryVariables } from "../support/generated/operations";
import type { GraphQLResponse } from "../support/graphql";
import { codeOf, fromNewIp, useApp, type SignedIn } from "../support/harness";
import { waitUntil } from "../support/wait";

const h = useApp();

const MY_AUDIT_EVENTS = `query MyAuditEventsFiltered($filter: AuditEventFilter, $first: Int, $after: String) {
  myAuditEvents(filter: $filter, first: $first, after: $after) {
    edges { cursor node { id action outcome } }
    pageInfo { hasNextPage endCursor }
  }
}`;
type MyAuditEvents = { myAuditEvents: AuditEventsQuery["auditEvents"] };

const fieldsOf = (res: { errors?: { extensions?: Record<string, unknown> }[] }) => res.errors?.[0]?.extensions?.fields;
const actions = (res: GraphQLResponse<AuditEventsQuery>) => res.data?.auditEvents.edges.map((e) => `${e.node.action}/${e.node.outcome}`);

/** A user's trail: registration, verification, a login, a failed login (written in the background), the last two a second apart. */
async function withTrail(): Promise<SignedIn> {
  const verified = await h.verifiedUser();
  h.clock.offsetMs += 1000;
  const user = await h.signedIn(verified);
  h.clock.offsetMs += 1000;
  await h.gql(LoginDocument, { input: { email: user.email, password: "Wrong-Horse-42!" } }, fromNewIp());
  await waitUntil("the failed login's audit record", async () => (await h.audit({ action: "user.login", outcome: "failure", subjectId: user.user.id })).length === 1);
  return user;
}

/** Every page of auditEvents for `filter`, `first` at a time: the ids in order. */
async function walk(auditor: SignedIn, filter: AuditEventFilter, first: number): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null = null;
  for (;;) {
    const res: GraphQLResponse<AuditEventsQuery> = await h.gql(AuditEventsDocument, { filter, first, after }, auditor.headers);
    const page = res.data?.auditEvents;
    if (!page) throw new Error(JSON.stringify(res.errors));
    ids.push(...page.edges.map((e) => e.node.id));
    if (!page.pageInfo.hasNextPage) return ids;
    after = page.pageInfo.endCursor;
  }
}

describe("auditEvents", () => {
  it("lists any user's records newest first, filtered by user, action, outcome and time", async () => {
    const auditor = await h.withRole("compliance"); // audit:read
    const user = await withTrail();
    const of = (filter: AuditEventFilter) => h.gql(AuditEventsDocument, { filter: { userId: user.user.id, ...filter } }, auditor.headers);
    expect(actions(await of({}))).toEqual(["user.login/failure", "user.login/success", "user.verify_email/success", "user.register/success"]);
    expect(actions(await of({ action: "user.login" }))).toEqual(["user.login/failure", "user.login/success"]);
    expect(actions(await of({ outcome: "failure" }))).toEqual(["user.login/failure"]);
    const rows = await h.audit({ OR: [{ actorId: user.user.id }, { subjectId: user.user.id }] });
    const verifiedAt = rows.find((r) => r.action === "user.verify_email")?.occurredAt.toISOString() as string;
    const loggedInAt = rows.find((r) => r.action === "user.login" && r.outcome === "success")?.occurredAt.toISOString() as string;
    expect(actions(await of({ from: verifiedAt, to: loggedInAt }))).toEqual(["user.verify_email/success"]); // from inclusive, to exclusive
    expect(actions(await of({ from: loggedInAt }))).toEqual(["user.login/failure", "user.login/success"]);
    const node = (await of({ outcome: "failure" })).data?.auditEvents.edges[0]?.node;
    expect(node).toEqual({ id: expect.any(String), action: "user.login", outcome: "failure", occurredAt: expect.any(String), ipAddress: expect.stringMatching(/^198\.51\./) });
    expect((await h.gql(AuditEventsDocument, { filter: { action: "user.register" }, first: 100 }, auditor.headers)).data?.auditEvents.edges.length).toBeGreaterThanOrEqual(2);
  });

  it("walks every page once: the pages are the whole list, in order", async () => {
    const auditor = await h.withRole("admin");
    const user = await withTrail();
    const all = await walk(auditor, { userId: user.user.id }, 100);
    expect(all).toHaveLength(4);
    expect(await walk(auditor, { userId: user.user.id }, 1)).toEqual(all);
    expect(await walk(auditor, { userId: user.user.id }, 3)).toEqual(all);
    expect([...all].sort((a, b) => Number(b) - Number(a))).toEqual(all);
  });

  it("refuses bad input naming the field", async () => {
    const auditor = await h.withRole("compliance");
    const refused = async (variables: AuditEventsQueryVariables) => fieldsOf(await h.gql(AuditEventsDocument, variables, auditor.headers));
    expect(await refused({ first: 0 })).toEqual([{ field: "first", message: "must be between 1 and 100" }]);
    expect(await refused({ after: Buffer.from(`user:1:${randomUUID()}`).toString("base64url") })).toEqual([{ field: "after", message: "is not a cursor from this list" }]);
    expect(await refused({ filter: { outcome: "maybe" } })).toEqual([{ field: "filter.outcome", message: "must be one of success, failure, denied" }]);
    expect(await refused({ filter: { from: "2026-02-01T00:00:00.000Z", to: "2026-01-01T00:00:00.000Z" } })).toEqual([{ field: "filter.from", message: "must not be after filter.to" }]);
    expect(await refused({ filter: { userId: "nope" } })).toEqual([{ field: "filter.userId", message: "must be a UUID" }]);
    expect(await refused({ filter: { action: "x".repeat(101) } })).toEqual([{ field: "filter.action", message: "must be at most 100 characters" }]);
  });

  it("SECURITY 39: FORBIDDEN without audit:read (a trader, support), UNAUTHENTICATED anonymously", async () => {
    for (const caller of [await h.signedIn(), await h.withRole("support")]) expect(codeOf(await h.gql(AuditEventsDocument, {}, caller.headers))).toBe("FORBIDDEN");
    expect(codeOf(await h.gql(AuditEventsDocument, {}))).toBe("UNAUTHENTICATED");
  });
});

describe("myAuditEvents with a filter", () => {
  it("filters the caller's own records; another user's id is refused", async () => {
    const user = await withTrail();
    const mine = (filter: AuditEventFilter) => h.gql<MyAuditEvents, Record<string, unknown>>(MY_AUDIT_EVENTS, { filter }, user.headers);
    const actionsOf = (res: GraphQLResponse<MyAuditEvents>) => res.data?.myAuditEvents.edges.map((e) => `${e.node.action}/${e.node.outcome}`);
    expect(actionsOf(await mine({ action: "user.login" }))).toEqual(["user.login/failure", "user.login/success"]);
    expect(actionsOf(await mine({ outcome: "failure", userId: user.user.id }))).toEqual(["user.login/failure"]);
    expect(fieldsOf(await mine({ userId: (await h.signedIn()).user.id }))).toEqual([{ field: "filter.userId", message: "must be the caller's own id (auditEvents lists other users' records)" }]);
  });
});
