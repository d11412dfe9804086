import { randomUUID } from "node:crypto";
import {
  CheckPermissionDocument,
  CreateServiceClientDocument,
  DeletePolicyDocument,
  LinkTradingAccountDocument,
  MyTradingAccountsDocument,
  RemoveTradingAccountMemberDocument,
  RenewTradingAccountSessionDocument,
  ReviewVerificationDocument,
  RotateTradingAccountCredentialsDocument,
  ShareTradingAccountDocument,
  StartVerificationDocument,
  SuspendUserDocument,
  SubmitVerificationDocument,
  TradingAccountDocument,
  TradingAccountSessionDocument,
  TradingAccountStatusDocument,
  UnlinkTradingAccountDocument,
  UpdateTradingAccountDocument,
  UploadVerificationDocumentDocument,
  VerifyTradingAccountDocument,
} from "../support/generated/operations";
import { startFakeKite, type FakeKite } from "../support/fakes/kite";
import { pngBytes } from "../support/documents";
import { codeOf, useApp, type SignedIn } from "../support/harness";

let kite: FakeKite;
const apps = Array.from({ length: 24 }, (_, i) => ({ apiKey: `key${i}${randomUUID().slice(0, 8)}`, apiSecret: `secret${i}${randomUUID()}`, userId: `AB${1000 + i}`, userName: `Trader ${i}` }));
let nextApp = 0;
beforeAll(async () => {
  kite = await startFakeKite({ apps });
});
afterAll(() => kite.close());
const h = useApp(() => ({ KITE_API_BASE_URL: kite.url, KITE_API_TIMEOUT_SECONDS: "1", KITE_API_MAX_RETRIES: "1" }));

/** A user's own Kite app (one broker account per app here) and a fresh login at it. */
const anApp = () => apps[nextApp++] as (typeof apps)[number];
const login = (app: (typeof apps)[number]) => kite.issueRequestToken(app.apiKey);

async function linked(owner: SignedIn, app = anApp()) {
  const res = await h.gql(LinkTradingAccountDocument, { input: { broker: "KITE" as never, apiKey: app.apiKey, apiSecret: app.apiSecret, requestToken: login(app), nickname: "Main" } }, owner.headers);
  expect(res.errors).toBeUndefined();
  return { id: res.data?.linkTradingAccount.id as string, app };
}

async function approvedKyc(user: SignedIn, reviewer: SignedIn): Promise<void> {
  const id = (await h.gql(StartVerificationDocument, {}, user.headers)).data?.startVerification.id as string;
  await h.gql(UploadVerificationDocumentDocument, { input: { verificationId: id, type: "PASSPORT" as never, fileName: "p.png", contentType: "image/png", contentBase64: pngBytes().toString("base64") } }, user.headers);
  await h.gql(SubmitVerificationDocument, { id }, user.headers);
  await h.gql(ReviewVerificationDocument, { input: { verificationId: id, decision: "APPROVE" as never } }, reviewer.headers);
}

describe("linking a Kite Connect account", () => {
  it("links: the request token is exchanged, the profile read, the account listed with its role; nothing secret is answered", async () => {
    const owner = await h.signedIn();
    const { id, app } = await linked(owner);
    const mine = await h.gql(MyTradingAccountsDocument, {}, owner.headers);
    expect(mine.data?.myTradingAccounts).toEqual([
      expect.objectContaining({ id, broker: "KITE", brokerUserId: app.userId, nickname: "Main", status: "ACTIVE", role: "OWNER", isDefault: false, profile: expect.objectContaining({ userName: app.userName, exchanges: expect.arrayContaining(["NSE"]) }) }),
    ]);
    expect(JSON.stringify(mine)).not.toContain(app.apiSecret);
    const row = await h.prisma.tradingAccount.findUniqueOrThrow({ where: { id } });
    for (const secret of [app.apiKey, app.apiSecret]) expect(JSON.stringify(row)).not.toContain(secret);
    const [event] = await h.prisma.outboxEvent.findMany({ where: { name: "trading_account.linked", aggregateId: id } });
    expect(event?.payload).toMatchObject({ data: { accountId: id, broker: "KITE", brokerUserId: app.userId, ownerId: owner.user.id } });
  });

  it("a failed link stores nothing: a wrong secret names apiSecret, a reused request token names requestToken", async () => {
    const owner = await h.signedIn();
    const app = anApp();
    const wrong = await h.gql(LinkTradingAccountDocument, { input: { broker: "KITE" as never, apiKey: app.apiKey, apiSecret: "not-the-secret", requestToken: login(app) } }, owner.headers);
    expect(wrong.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", fields: [{ field: "input.apiSecret" }] });
    const token = login(app);
    await linked(owner, app).catch(() => undefined);
    const once = await h.gql(LinkTradingAccountDocument, { input: { broker: "KITE" as never, apiKey: app.apiKey, apiSecret: app.apiSecret, requestToken: token } }, owner.headers);
    expect(codeOf(once)).toBe("BAD_USER_INPUT");
    expect(await h.prisma.tradingAccount.count({ where: { ownerId: owner.user.id } })).toBe(1);
  });

  it("one broker account has one owner: linking it again (anyone) is refused and ends the session just made", async () => {
    const owner = await h.signedIn();
    const other = await h.signedIn();
    const { app } = await linked(owner);
    const again = await h.gql(LinkTradingAccountDocument, { input: { broker: "KITE" as never, apiKey: app.apiKey, apiSecret: app.apiSecret, requestToken: login(app) } }, other.headers);
    expect(again.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", fields: [{ field: "input.requestToken" }] });
    const sessions = [...kite.sessions.values()].filter((s) => s.apiKey === app.apiKey);
    expect(sessions.map((s) => s.ended)).toEqual([null, "logged out"]);
  });

  it("a broker that is down answers BROKER_UNAVAILABLE and stores nothing", async () => {
    const owner = await h.signedIn();
    const app = anApp();
    const token = login(app);
    await kite.down();
    try {
      const res = await h.gql(LinkTradingAccountDocument, { input: { broker: "KITE" as never, apiKey: app.apiKey, apiSecret: app.apiSecret, requestToken: token } }, owner.headers);
      expect(codeOf(res)).toBe("BROKER_UNAVAILABLE");
    } finally {
      await kite.up();
    }
    expect(await h.prisma.tradingAccount.count({ where: { ownerId: owner.user.id } })).toBe(0);
  });
});

describe("keeping it alive", () => {
  it("verify reads the profile; after 06:00 IST the session is REAUTH_REQUIRED (the daily sweep tells the owner), and a new login renews it", async () => {
    const owner = await h.signedIn();
    const { id, app } = await linked(owner);
    expect((await h.gql(VerifyTradingAccountDocument, { id }, owner.headers)).data?.verifyTradingAccount.status).toBe("ACTIVE");
    const status = (await h.gql(TradingAccountStatusDocument, { id }, owner.headers)).data?.tradingAccountStatus;
    expect(status).toMatchObject({ status: "ACTIVE", credentialsValid: true });
    const expiresAt = new Date(status?.sessionExpiresAt as string);
    expect(expiresAt.getUTCHours() * 60 + expiresAt.getUTCMinutes()).toBe(30);
    // The sweep at 00:30 UTC: the clock past the session's end.
    h.clock.offsetMs = expiresAt.getTime() - Date.now() + 1000;
    expect(await h.t.app.modules["trading-accounts"].api.expireSessions()).toBeGreaterThanOrEqual(1);
    h.clock.offsetMs = 0;
    expect((await h.gql(TradingAccountStatusDocument, { id }, owner.headers)).data?.tradingAccountStatus.status).toBe("REAUTH_REQUIRED");
    expect((await h.mailTo(owner.email, "trading-account-reauth")).params).toMatchObject({ accountId: id, brokerUserId: app.userId });
    const renewed = await h.gql(RenewTradingAccountSessionDocument, { id, requestToken: login(app) }, owner.headers);
    expect(renewed.data?.renewTradingAccountSession.status).toBe("ACTIVE");
  });

  it("past the session's daily end, verify and status answer REAUTH_REQUIRED even before the sweep, though Kite still accepts the token", async () => {
    const owner = await h.signedIn();
    const { id } = await linked(owner);
    // The daily end passed a second ago (the sweep has not run).
    await h.prisma.tradingAccount.update({ where: { id }, data: { sessionExpiresAt: new Date(h.clock.now().getTime() - 1000) } });
    expect((await h.gql(TradingAccountStatusDocument, { id }, owner.headers)).data?.tradingAccountStatus.status).toBe("REAUTH_REQUIRED");
    expect((await h.gql(VerifyTradingAccountDocument, { id }, owner.headers)).data?.verifyTradingAccount.status).toBe("REAUTH_REQUIRED");
    expect(await h.prisma.tradingAccount.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: "REAUTH_REQUIRED" });
  });

  it("the broker ending the session is found by verify (REAUTH_REQUIRED)", async () => {
    const owner = await h.signedIn();
    const { id } = await linked(owner);
    kite.expireSessions();
    expect((await h.gql(VerifyTradingAccountDocument, { id }, owner.headers)).data?.verifyTradingAccount.status).toBe("REAUTH_REQUIRED");
  });

  it("rotation: a failed one leaves the account as it was; a successful one replaces key and secret after the broker accepted them", async () => {
    const owner = await h.signedIn();
    const { id, app } = await linked(owner);
    const before = await h.prisma.tradingAccount.findUniqueOrThrow({ where: { id } });
    const failed = await h.gql(RotateTradingAccountCredentialsDocument, { id, input: { apiKey: app.apiKey, apiSecret: "wrong-secret", requestToken: login(app) } }, owner.headers);
    expect(failed.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", fields: [{ field: "input.apiSecret" }] });
    const unchanged = await h.prisma.tradingAccount.findUniqueOrThrow({ where: { id } });
    expect([unchanged.apiKeyEnc, unchanged.apiSecretEnc, unchanged.accessTokenEnc]).toEqual([before.apiKeyEnc, before.apiSecretEnc, before.accessTokenEnc]);
    const rotated = await h.gql(RotateTradingAccountCredentialsDocument, { id, input: { apiKey: app.apiKey, apiSecret: app.apiSecret, requestToken: login(app) } }, owner.headers);
    expect(rotated.data?.rotateTradingAccountCredentials.status).toBe("ACTIVE");
    const after = await h.prisma.tradingAccount.findUniqueOrThrow({ where: { id } });
    expect(after.apiSecretEnc).not.toBe(before.apiSecretEnc);
    // The old session was ended at the broker.
    expect([...kite.sessions.values()].filter((s) => s.apiKey === app.apiKey).map((s) => s.ended)).toEqual(["logged out", null]);
  });
});

describe("sharing and the permission check", () => {
  it("owner and trader may place orders, a viewer and a stranger may not; only the owner shares, renames or unlinks", async () => {
    const reviewer = await h.withRole("compliance");
    const [owner, trader, viewer, stranger] = await Promise.all([h.signedIn(), h.signedIn(), h.signedIn(), h.signedIn()]);
    for (const user of [owner, trader, viewer, stranger]) await approvedKyc(user, reviewer);
    const { id } = await linked(owner);
    await h.gql(ShareTradingAccountDocument, { id, input: { email: trader.email, role: "TRADER" as never } }, owner.headers);
    const shared = await h.gql(ShareTradingAccountDocument, { id, input: { email: viewer.email, role: "VIEWER" as never } }, owner.headers);
    expect(shared.data?.shareTradingAccount.members.map((m) => m.role)).toEqual(["OWNER", "TRADER", "VIEWER"]);
    const place = async (user: SignedIn) => (await h.gql(CheckPermissionDocument, { input: { permission: "trading:orders:place", resource: { type: "trading_account", id } } }, user.headers)).data?.checkPermission.allowed;
    expect([await place(owner), await place(trader), await place(viewer), await place(stranger)]).toEqual([true, true, false, false]);
    expect((await h.gql(TradingAccountDocument, { id }, viewer.headers)).data?.tradingAccount.role).toBe("VIEWER");
    expect(codeOf(await h.gql(TradingAccountDocument, { id }, stranger.headers))).toBe("NOT_FOUND");
    expect(codeOf(await h.gql(ShareTradingAccountDocument, { id, input: { email: stranger.email, role: "VIEWER" as never } }, trader.headers))).toBe("FORBIDDEN");
    expect(codeOf(await h.gql(UpdateTradingAccountDocument, { id, input: { nickname: "Mine now" } }, trader.headers))).toBe("FORBIDDEN");
    expect(codeOf(await h.gql(UnlinkTradingAccountDocument, { id }, viewer.headers))).toBe("FORBIDDEN");
    expect(codeOf(await h.gql(UnlinkTradingAccountDocument, { id }, stranger.headers))).toBe("NOT_FOUND");
    expect(codeOf(await h.gql(ShareTradingAccountDocument, { id, input: { email: "nobody@example.test", role: "VIEWER" as never } }, owner.headers))).toBe("BAD_USER_INPUT");
    expect((await h.gql(RemoveTradingAccountMemberDocument, { id, userId: trader.user.id }, owner.headers)).data?.removeTradingAccountMember).toBe(true);
    expect(await place(trader)).toBe(false);
  });

  it("trading:orders:place is decided on a named account only, whatever the spelling of its id; a viewer sees the owner and themself only", async () => {
    const reviewer = await h.withRole("compliance");
    const [owner, trader, viewer] = await Promise.all([h.signedIn(), h.signedIn(), h.signedIn()]);
    for (const user of [owner, trader]) await approvedKyc(user, reviewer);
    const { id } = await linked(owner);
    await h.gql(ShareTradingAccountDocument, { id, input: { email: trader.email, role: "TRADER" as never } }, owner.headers);
    await h.gql(ShareTradingAccountDocument, { id, input: { email: viewer.email, role: "VIEWER" as never } }, owner.headers);
    const check = async (user: SignedIn, resource?: { type: string; id: string }) => (await h.gql(CheckPermissionDocument, { input: { permission: "trading:orders:place", ...(resource ? { resource } : {}) } }, user.headers)).data?.checkPermission.allowed;
    expect(await check(owner)).toBe(false);
    expect(await check(owner, { type: "trading_account", id: id.toUpperCase() })).toBe(true);
    expect(await check(owner, { type: "order", id })).toBe(false);
    const seen = await h.gql(TradingAccountDocument, { id }, viewer.headers);
    expect(seen.data?.tradingAccount.members.map((m) => [m.user.id, m.role])).toEqual([[owner.user.id, "OWNER"], [viewer.user.id, "VIEWER"]]);
  });

  it("the built-in policy: orders need an APPROVED identity verification, until an admin deletes it", async () => {
    const owner = await h.signedIn();
    const { id } = await linked(owner);
    const check = await h.gql(CheckPermissionDocument, { input: { permission: "trading:orders:place", resource: { type: "trading_account", id } } }, owner.headers);
    expect(check.data?.checkPermission).toEqual({ allowed: false, reason: "policy orders-need-verified-identity denies" });
    const admin = await h.withRole("admin");
    const builtIn = await h.prisma.policy.findUniqueOrThrow({ where: { name: "orders-need-verified-identity" } });
    expect((await h.gql(DeletePolicyDocument, { id: builtIn.id }, admin.headers)).data?.deletePolicy).toBe(true);
    const after = await h.gql(CheckPermissionDocument, { input: { permission: "trading:orders:place", resource: { type: "trading_account", id } } }, owner.headers);
    expect(after.data?.checkPermission).toEqual({ allowed: true, reason: "role trader grants trading:orders:place" });
  });
});

describe("the broker session for order services", () => {
  it("answers the API key and access token to a client with trading_accounts:session, audited per answer; a user gets FORBIDDEN", async () => {
    const admin = await h.withRole("admin");
    const owner = await h.signedIn();
    const { id, app } = await linked(owner);
    const created = (await h.gql(CreateServiceClientDocument, { input: { name: "orders", scopes: ["trading_accounts:session"] } }, admin.headers)).data?.createServiceClient;
    const form = new URLSearchParams({ grant_type: "client_credentials", client_id: created?.client.clientId as string, client_secret: created?.clientSecret as string });
    const token = ((await (await fetch(`${h.t.baseUrl}/oauth/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: form.toString() })).json()) as { access_token: string }).access_token;
    const session = await h.gql(TradingAccountSessionDocument, { id }, { authorization: `Bearer ${token}` });
    const issued = [...kite.sessions.values()].find((s) => s.apiKey === app.apiKey && s.ended === null);
    expect(session.data?.tradingAccountSession).toEqual({ apiKey: app.apiKey, accessToken: issued?.accessToken, expiresAt: expect.any(String) });
    const [audit] = await h.auditedAtLeast(1, { action: "trading_account.session_read", subjectId: id });
    expect(audit).toMatchObject({ actorType: "service", actorId: created?.client.clientId, metadata: { clientId: created?.client.clientId, accountId: id } });
    expect(codeOf(await h.gql(TradingAccountSessionDocument, { id }, owner.headers))).toBe("FORBIDDEN");
    // A suspended owner's account gives order services nothing, and the refusal is on record.
    await h.gql(SuspendUserDocument, { id: owner.user.id, reason: "investigation" }, admin.headers);
    expect(codeOf(await h.gql(TradingAccountSessionDocument, { id }, { authorization: `Bearer ${token}` }))).toBe("FORBIDDEN");
    await h.auditedAtLeast(1, { action: "trading_account.session_read", subjectId: id, outcome: "denied" });
  });

  it("unlinking ends the broker session and removes the secrets and memberships; the audit trail stays", async () => {
    const [owner, member] = await Promise.all([h.signedIn(), h.signedIn()]);
    const { id, app } = await linked(owner);
    await h.gql(ShareTradingAccountDocument, { id, input: { email: member.email, role: "TRADER" as never } }, owner.headers);
    expect((await h.gql(UnlinkTradingAccountDocument, { id }, owner.headers)).data?.unlinkTradingAccount).toBe(true);
    expect([...kite.sessions.values()].filter((s) => s.apiKey === app.apiKey).map((s) => s.ended)).toEqual(["logged out"]);
    expect(await h.prisma.tradingAccount.count({ where: { id } })).toBe(0);
    expect(await h.prisma.tradingAccountKey.count({ where: { accountId: id } })).toBe(0);
    expect(await h.prisma.tradingAccountMember.count({ where: { accountId: id } })).toBe(0);
    await h.auditedAtLeast(1, { action: "trading_account.unlink", subjectId: id });
    expect((await h.gql(MyTradingAccountsDocument, {}, member.headers)).data?.myTradingAccounts).toEqual([]);
  });

  it("the accounts are the owner's personal data: exported without credentials; erasure unlinks them (the broker session ended, the event published)", async () => {
    const [owner, member] = await Promise.all([h.signedIn(), h.signedIn()]);
    const { id, app } = await linked(owner);
    await h.gql(ShareTradingAccountDocument, { id, input: { email: member.email, role: "VIEWER" as never } }, owner.headers);
    const registry = h.t.app.modules.users.api.personalData;
    const exported = (await registry.export(owner.user.id))["trading-accounts"] as { accounts: { id: string; members: unknown[] }[] };
    expect(exported.accounts).toEqual([expect.objectContaining({ id, brokerUserId: app.userId, members: [expect.objectContaining({ userId: member.user.id, role: "VIEWER" })] })]);
    expect(JSON.stringify(exported)).not.toContain(app.apiKey);
    await h.t.app.platform.events.unitOfWork.run({ actor: { type: "system", id: null } }, (scope) => registry.erase(scope, owner.user.id));
    expect(await h.prisma.tradingAccount.count({ where: { id } })).toBe(0);
    expect([...kite.sessions.values()].filter((s) => s.apiKey === app.apiKey).map((s) => s.ended)).toEqual(["logged out"]);
    expect(await h.prisma.outboxEvent.count({ where: { name: "trading_account.unlinked", aggregateId: id } })).toBe(1);
  });
});
