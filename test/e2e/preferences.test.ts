import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  ChangePasswordDocument,
  MyPreferencesDocument,
  ReviewVerificationDocument,
  StartVerificationDocument,
  SubmitVerificationDocument,
  UpdatePreferencesDocument,
  UploadVerificationDocumentDocument,
  type UpdatePreferencesInput,
} from "../support/generated/operations";
import { pdfBytes } from "../support/documents";
import { codeOf, useApp, type SignedIn } from "../support/harness";
import { spawnServer } from "../support/process";
import { waitUntil } from "../support/wait";

// The sandbox takes ten minutes here: a compliance reviewer decides.
const h = useApp({ KYC_SANDBOX_DELAY_MS: "600000" });

const CHANNELS = ["EMAIL", "SMS", "PUSH"] as const;
const TOPICS = ["security", "account", "kyc", "trading", "marketing"] as const;
/** The documented defaults: every channel and topic on, marketing (opt-in) off. */
const DEFAULT_NOTIFICATIONS = CHANNELS.flatMap((channel) => TOPICS.map((topic) => ({ channel, topic, enabled: topic !== "marketing" })));
const DEFAULTS = { theme: "SYSTEM", defaultTradingAccountId: null, watchlists: [], notifications: DEFAULT_NOTIFICATIONS };

const mine = async (user: SignedIn) => (await h.gql(MyPreferencesDocument, {}, user.headers)).data?.myPreferences;
const update = (user: SignedIn, input: UpdatePreferencesInput) => h.gql(UpdatePreferencesDocument, { input }, user.headers);
/** The matrix with these pairs set. */
const withChoices = (...set: { channel: string; topic: string; enabled: boolean }[]) =>
  DEFAULT_NOTIFICATIONS.map((pair) => set.find((s) => s.channel === pair.channel && s.topic === pair.topic) ?? pair);

/** A linked account of `ownerId`, written as the trading-accounts module would (its credentials are not read here). */
async function tradingAccount(ownerId: string): Promise<string> {
  const id = randomUUID();
  const now = new Date();
  await h.prisma.tradingAccount.create({
    data: { id, ownerId, broker: "KITE", brokerUserId: `ZX${id.slice(0, 8)}`, status: "ACTIVE", apiKeyEnc: "dummy", apiSecretEnc: "dummy", accessTokenEnc: "dummy", profile: {}, sessionExpiresAt: now, lastVerifiedAt: now },
  });
  return id;
}

describe("myPreferences and updatePreferences", () => {
  it("a new user has the documented defaults", async () => {
    expect(await mine(await h.signedIn())).toEqual(DEFAULTS);
  });

  it("an update is answered and read back; the event and audit record name the fields changed, never a symbol", async () => {
    const user = await h.signedIn();
    const watchlists = [
      { name: "Tech", symbols: ["NSE:INFY", "NSE:M&M", "NFO:NIFTY24DECFUT", "BSE:TCS", "MCX:GOLDM24DECFUT", "CDS:USDINR24DECFUT"] },
      { name: "Empty", symbols: [] },
    ];
    const input = { theme: "DARK" as const, watchlists, notifications: [{ channel: "EMAIL" as const, topic: "kyc", enabled: false }, { channel: "PUSH" as const, topic: "marketing", enabled: true }] };
    const expected = { theme: "DARK", defaultTradingAccountId: null, watchlists, notifications: withChoices({ channel: "EMAIL", topic: "kyc", enabled: false }, { channel: "PUSH", topic: "marketing", enabled: true }) };
    const res = await update(user, input);
    expect(res.errors).toBeUndefined();
    expect(res.data?.updatePreferences).toEqual(expected);
    expect(await mine(user)).toEqual(expected);

    const event = await h.queues.waitFor("user-events", (job) => job.name === "user.preferences.updated" && (job.data as { aggregateId: string }).aggregateId === user.user.id);
    expect((event.data as { data: unknown }).data).toEqual({ fields: ["theme", "watchlists", "notifications"] });
    expect(JSON.stringify(event.data)).not.toContain("INFY");
    const [audit] = await h.audit({ action: "user.update_preferences", subjectId: user.user.id });
    expect(audit).toMatchObject({ actorId: user.user.id, outcome: "success", metadata: { fields: ["theme", "watchlists", "notifications"] } });

    // The same again changes nothing: no second event or audit record.
    expect((await update(user, input)).data?.updatePreferences).toEqual(expected);
    expect(await h.audit({ action: "user.update_preferences", subjectId: user.user.id })).toHaveLength(1);
  });

  it("a partial update keeps the other fields; notifications are set per channel and topic; watchlists given replace the lists", async () => {
    const user = await h.signedIn();
    const lists = [{ name: "Banks", symbols: ["NSE:HDFCBANK", "NSE:ICICIBANK"] }];
    await update(user, { theme: "DARK", watchlists: lists, notifications: [{ channel: "EMAIL", topic: "kyc", enabled: false }] });

    expect((await update(user, { theme: "LIGHT" })).data?.updatePreferences).toEqual({ theme: "LIGHT", defaultTradingAccountId: null, watchlists: lists, notifications: withChoices({ channel: "EMAIL", topic: "kyc", enabled: false }) });
    const merged = withChoices({ channel: "EMAIL", topic: "kyc", enabled: false }, { channel: "SMS", topic: "trading", enabled: false }, { channel: "EMAIL", topic: "marketing", enabled: true });
    const res = await update(user, { notifications: [{ channel: "SMS", topic: "trading", enabled: false }, { channel: "EMAIL", topic: "marketing", enabled: true }] });
    expect(res.data?.updatePreferences).toEqual({ theme: "LIGHT", defaultTradingAccountId: null, watchlists: lists, notifications: merged });
    // Null leaves a field as it is too.
    expect((await update(user, { theme: null, watchlists: null, notifications: null })).data?.updatePreferences).toEqual({ theme: "LIGHT", defaultTradingAccountId: null, watchlists: lists, notifications: merged });
    expect((await update(user, { watchlists: [] })).data?.updatePreferences).toEqual({ theme: "LIGHT", defaultTradingAccountId: null, watchlists: [], notifications: merged });
  });

  it("refuses a bad input naming every field at fault, and stores nothing of it", async () => {
    const user = await h.signedIn();
    const res = await update(user, {
      defaultTradingAccountId: "not-a-uuid",
      watchlists: [
        { name: "  ", symbols: [] },
        { name: "x".repeat(51), symbols: ["NSE:INFY"] },
        { name: "Tech", symbols: ["NSE:INFY", "NSE:TCS", "BSE:INFY", "NSE:WIPRO", "NSE:HCLTECH", "nse:infy", "XNYS:IBM", "INFY", "NSE:", `NSE:${"A".repeat(41)}`, "NSE:INFY"] },
        { name: "tech", symbols: Array.from({ length: 101 }, (_, i) => `NSE:S${i}`) },
      ],
      notifications: [
        { channel: "EMAIL", topic: "weather", enabled: false },
        { channel: "EMAIL", topic: "security", enabled: false },
        { channel: "SMS", topic: "kyc", enabled: false },
        { channel: "SMS", topic: "kyc", enabled: true },
      ],
    });
    expect(codeOf(res)).toBe("BAD_USER_INPUT");
    const fields = (res.errors?.[0]?.extensions?.fields as { field: string; message: string }[]).map((f) => f.field);
    expect(fields).toEqual([
      "input.defaultTradingAccountId",
      "input.watchlists[0].name",
      "input.watchlists[1].name",
      "input.watchlists[2].symbols[5]",
      "input.watchlists[2].symbols[6]",
      "input.watchlists[2].symbols[7]",
      "input.watchlists[2].symbols[8]",
      "input.watchlists[2].symbols[9]",
      "input.watchlists[2].symbols[10]",
      "input.watchlists[3].name",
      "input.watchlists[3].symbols",
      "input.notifications[0].topic",
      "input.notifications[1].enabled",
      "input.notifications[3]",
    ]);
    const messages = Object.fromEntries((res.errors?.[0]?.extensions?.fields as { field: string; message: string }[]).map((f) => [f.field, f.message]));
    expect(messages["input.watchlists[2].symbols[5]"]).toMatch(/must be EXCHANGE:TRADINGSYMBOL/);
    expect(messages["input.watchlists[2].symbols[10]"]).toBe("repeats NSE:INFY in this watchlist");
    expect(messages["input.watchlists[3].symbols"]).toBe("must hold at most 100 symbols");
    expect(messages["input.notifications[1].enabled"]).toMatch(/security emails .* are always sent/);

    const tooMany = await update(user, { watchlists: Array.from({ length: 21 }, (_, i) => ({ name: `List ${i}`, symbols: [] })) });
    expect(tooMany.errors?.[0]?.extensions?.fields).toEqual([{ field: "input.watchlists", message: "must hold at most 20 watchlists" }]);
    const everyPairTwice = [...DEFAULT_NOTIFICATIONS, ...DEFAULT_NOTIFICATIONS].map(({ channel, topic }) => ({ channel, topic, enabled: true }));
    expect((await update(user, { notifications: everyPairTwice })).errors?.[0]?.extensions?.fields).toEqual([{ field: "input.notifications", message: "must set each channel and topic at most once (at most 15 entries)" }]);
    // At the limits it is accepted.
    const full = Array.from({ length: 20 }, (_, i) => ({ name: `${"L".repeat(48)}${String(i).padStart(2, "0")}`, symbols: Array.from({ length: 100 }, (_, j) => `NSE:S${j}`) }));
    expect((await update(user, { watchlists: full })).data?.updatePreferences.watchlists).toEqual(full);
    expect(codeOf(await update(user, { theme: "DARK", watchlists: [{ name: "", symbols: [] }] }))).toBe("BAD_USER_INPUT");
    expect(await mine(user)).toEqual({ ...DEFAULTS, watchlists: full });
  });

  it("defaultTradingAccountId must name an account the user owns or was given access to; it is answered only while they may see it", async () => {
    const user = await h.signedIn();
    const other = await h.signedIn();
    const own = await tradingAccount(user.user.id);
    const theirs = await tradingAccount(other.user.id);
    const shared = await tradingAccount(other.user.id);
    for (const id of [randomUUID(), theirs]) {
      const res = await update(user, { defaultTradingAccountId: id });
      expect(codeOf(res)).toBe("BAD_USER_INPUT");
      expect(res.errors?.[0]?.extensions?.fields).toEqual([{ field: "input.defaultTradingAccountId", message: "names no trading account you own or were given access to" }]);
    }
    expect((await update(user, { defaultTradingAccountId: own.toUpperCase() })).data?.updatePreferences.defaultTradingAccountId).toBe(own);
    expect((await update(user, { theme: "DARK" })).data?.updatePreferences.defaultTradingAccountId).toBe(own);

    await h.prisma.tradingAccountMember.create({ data: { accountId: shared, userId: user.user.id, role: "VIEWER", addedBy: other.user.id } });
    expect((await update(user, { defaultTradingAccountId: shared })).data?.updatePreferences.defaultTradingAccountId).toBe(shared);
    const api = h.t.app.modules.preferences.api;
    expect(await api.defaultTradingAccountOf([other.user.id, user.user.id])).toEqual([null, shared]);
    // No longer a member: the stored default is no longer answered.
    await h.prisma.tradingAccountMember.delete({ where: { accountId_userId: { accountId: shared, userId: user.user.id } } });
    expect((await mine(user))?.defaultTradingAccountId).toBeNull();
    expect(await api.defaultTradingAccountOf([user.user.id])).toEqual([null]);

    // The trading-accounts module sets it inside its own unit of work (updateTradingAccount's isDefault).
    await h.t.app.platform.events.unitOfWork.run({ actor: { type: "user", id: user.user.id } }, (scope) => api.setDefaultTradingAccount(scope, user.user.id, own));
    expect((await mine(user))?.defaultTradingAccountId).toBe(own);
    // An account that goes takes the default with it.
    await h.prisma.tradingAccount.delete({ where: { id: own } });
    expect(await h.prisma.userPreferences.findUnique({ where: { userId: user.user.id }, select: { defaultTradingAccountId: true } })).toEqual({ defaultTradingAccountId: null });
    expect((await update(user, { defaultTradingAccountId: null })).errors).toBeUndefined();
  });
});

describe("the relay honours EMAIL opt-outs", () => {
  /** A verification of `user` decided by a compliance reviewer: a kyc-status-changed mail to them. */
  async function approved(user: SignedIn, reviewer: SignedIn): Promise<void> {
    const id = (await h.gql(StartVerificationDocument, {}, user.headers)).data?.startVerification.id as string;
    const document = { verificationId: id, type: "ID_CARD" as never, fileName: "id.pdf", contentType: "application/pdf", contentBase64: pdfBytes("ID").toString("base64") };
    expect((await h.gql(UploadVerificationDocumentDocument, { input: document }, user.headers)).errors).toBeUndefined();
    expect((await h.gql(SubmitVerificationDocument, { id }, user.headers)).data?.submitVerification.status).toBe("IN_REVIEW");
    expect((await h.gql(ReviewVerificationDocument, { input: { verificationId: id, decision: "APPROVE" as never } }, reviewer.headers)).data?.reviewVerification.status).toBe("APPROVED");
  }
  /** The outbox rows of `template` mails to `email`, once the relay has handled `count` of them. */
  const handled = (email: string, template: string, count: number) =>
    waitUntil(`${count} ${template} to ${email} handled`, async () => {
      const rows = await h.prisma.outboxEvent.findMany({ where: { destination: "notifications", name: template, aggregateId: email.toLowerCase(), publishedAt: { not: null } }, orderBy: { seq: "asc" } });
      return rows.length >= count && rows;
    });
  const queued = async (email: string, template: string) => (await h.queues.jobs("notifications")).filter((job) => job.name === template && (job.data as { to: string }).to === email);

  it("a user who turned EMAIL kyc off gets no kyc-status-changed mail, and still gets the security mails", async () => {
    const reviewer = await h.withRole("compliance");
    const optedOut = await h.signedIn();
    const optedIn = await h.signedIn();
    expect((await update(optedOut, { notifications: [{ channel: "EMAIL", topic: "kyc", enabled: false }, { channel: "EMAIL", topic: "security", enabled: true }] })).errors).toBeUndefined();

    // The submission (IN_REVIEW) and the decision (APPROVED) each send one.
    await approved(optedIn, reviewer);
    await h.queues.waitFor("notifications", (job) => job.name === "kyc-status-changed" && (job.data as { to: string; params: { status: string } }).to === optedIn.email && (job.data as { params: { status: string } }).params.status === "APPROVED");

    await approved(optedOut, reviewer);
    const rows = await handled(optedOut.email, "kyc-status-changed", 2);
    expect(rows.map((row) => row.payload)).toEqual([1, 2].map(() => expect.objectContaining({ to: optedOut.email, template: "kyc-status-changed", notSent: "the recipient's preferences turn EMAIL off for kyc" })));
    // Handled means the transport would have had them by now.
    expect(await queued(optedOut.email, "kyc-status-changed")).toEqual([]);

    const changed = await h.gql(ChangePasswordDocument, { input: { currentPassword: optedOut.password, newPassword: "Brand-New-Pass-9#" } }, optedOut.headers);
    expect(changed.data).toEqual({ changePassword: true });
    await h.mailTo(optedOut.email, "password-changed");
    expect((await handled(optedOut.email, "password-changed", 1))[0]?.payload).not.toHaveProperty("notSent");
  });

  it("works the same in embedded mode: the relay there stops the opted-out mail before the log transport", async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), "identity-embedded-prefs-"));
    try {
      const child = spawnServer({ EMBEDDED_DATA_DIR: dataDir, OUTBOX_POLL_INTERVAL_MS: "100" }, "test/support/embedded-preferences.ts");
      expect((await child.exited).code).toBe(0);
      const lines = child.output().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
      const { result } = lines.find((l) => l.result) as { result: { rows: { name: string; notSent: string | null }[] } };
      expect(result.rows).toEqual([
        { name: "kyc-status-changed", notSent: "the recipient's preferences turn EMAIL off for kyc" },
        { name: "password-changed", notSent: null },
      ]);
      const sent = lines.filter((l) => typeof l.msg === "string" && l.msg.startsWith("notification ")).map((l) => l.msg);
      expect(sent).toEqual(["notification password-changed to embedded@example.test"]);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("personal data", () => {
  it("the export lists the stored preferences and erasure deletes them", async () => {
    const user = await h.signedIn();
    const registry = h.t.app.modules.users.api.personalData;
    expect((await registry.export(user.user.id)).preferences).toBeNull();
    await update(user, { theme: "DARK", watchlists: [{ name: "Tech", symbols: ["NSE:INFY"] }], notifications: [{ channel: "SMS", topic: "account", enabled: false }] });
    expect((await registry.export(user.user.id)).preferences).toEqual({
      theme: "DARK",
      defaultTradingAccountId: null,
      watchlists: [{ name: "Tech", symbols: ["NSE:INFY"] }],
      notifications: [{ channel: "SMS", topic: "account", enabled: false }],
      updatedAt: expect.any(Date),
    });
    await h.t.app.platform.events.unitOfWork.run({ actor: { type: "system", id: null } }, (scope) => registry.erase(scope, user.user.id));
    expect(await h.prisma.userPreferences.count({ where: { userId: user.user.id } })).toBe(0);
    expect(await mine(user)).toEqual(DEFAULTS);
  });
});
