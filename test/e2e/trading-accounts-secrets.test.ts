import { randomBytes } from "node:crypto";
import { getOperationAST, parse } from "graphql";
import { Redis } from "ioredis";
import { quoteIdent } from "../../src/platform/db/sql";
import {
  CheckPermissionDocument,
  CreateServiceClientDocument,
  LinkTradingAccountDocument,
  MyTradingAccountsDocument,
  RenewTradingAccountSessionDocument,
  RotateTradingAccountCredentialsDocument,
  ShareTradingAccountDocument,
  TradingAccountDocument,
  TradingAccountSessionDocument,
  TradingAccountStatusDocument,
  UnlinkTradingAccountDocument,
  UpdateTradingAccountDocument,
  VerifyTradingAccountDocument,
} from "../support/generated/operations";
import { withClient } from "../support/db";
import { REDIS_URL } from "../support/env";
import { startFakeKite, type FakeKite, type FakeKiteApp } from "../support/fakes/kite";
import { codeOf, useApp, type SignedIn } from "../support/harness";

/*
 * SECURITY 55–58, issue 15's "Done when": the API key, the API secret and the broker's tokens of a
 * whole life of trading accounts are nowhere in clear (nor hex or base64) in the database, the
 * queues, the log, or any GraphQL answer. Only `tradingAccountSession` answers a key and token,
 * by design, to a scoped service client: that one answer is left out of the scan (and scanned
 * apart, as the proof that the answer scan would see a credential).
 */

/** Long and random: a hit can only be the value itself. */
const credential = (label: string) => `${label}-${randomBytes(30).toString("base64url")}`;
const kiteApp = (userId: string): FakeKiteApp => ({ apiKey: credential("kitekey"), apiSecret: credential("kitesecret"), userId, userName: `Trader ${userId}` });
/** The owner's app; the same Kite user's second app, for the rotation; another owner's account, still linked at the end. */
const first = kiteApp("ZS4101");
const rotated = { ...kiteApp("ZS4101"), userName: first.userName };
const other = kiteApp("ZS4202");
const wrongSecrets = { link: credential("wrongsecret"), rotation: credential("wrongsecret") };

let kite: FakeKite;
beforeAll(async () => {
  kite = await startFakeKite({ apps: [first, rotated, other] });
});
afterAll(() => kite.close());
// trace: every line the app can log is in the scanned log.
const h = useApp(() => ({ KITE_API_BASE_URL: kite.url, KITE_API_TIMEOUT_SECONDS: "1", KITE_API_MAX_RETRIES: "1", LOG_LEVEL: "trace" }));

/** Every GraphQL answer of the run, the harness's own (sign-ups, logins) included. */
const answers: { operation: string; body: string }[] = [];
const unrecordedGql = h.gql;
h.gql = async (document, variables, headers) => {
  const res = await unrecordedGql(document, variables, headers);
  const operation = getOperationAST(typeof document === "string" ? parse(document) : document)?.name?.value ?? "anonymous";
  answers.push({ operation, body: JSON.stringify({ data: res.data, errors: res.errors }) });
  return res;
};

const requestTokens: string[] = [];
const login = (app: FakeKiteApp) => {
  const token = kite.issueRequestToken(app.apiKey);
  requestTokens.push(token);
  return token;
};

// ---------------------------------------------------------------- the scanner

interface Needle {
  /** Which secret, in which spelling: what a hit reports (never the value). */
  label: string;
  bytes: Buffer;
}

/**
 * A secret's spellings: its UTF-8 bytes in clear, in hex (either case) and in base64 (either
 * alphabet) at each of the three byte alignments, less the characters that also encode the bytes
 * around it, so that a secret encoded inside a longer value is found too.
 */
function needlesOf(secrets: Record<string, string>): Needle[] {
  return Object.entries(secrets).flatMap(([name, value]) => {
    const bytes = Buffer.from(value, "utf8");
    const hex = bytes.toString("hex");
    const spellings: [string, string][] = [
      ["clear", value],
      ["hex", hex],
      ["HEX", hex.toUpperCase()],
    ];
    for (const shift of [0, 1, 2]) {
      const base64 = Buffer.concat([Buffer.alloc(shift), bytes]).toString("base64");
      const inner = base64.slice(shift === 0 ? 0 : 4, -4);
      spellings.push([`base64 (+${shift})`, inner], [`base64url (+${shift})`, inner.replace(/\+/g, "-").replace(/\//g, "_")]);
    }
    return spellings.map(([spelling, text]) => ({ label: `${name} in ${spelling}`, bytes: Buffer.from(text, "utf8") }));
  });
}

/** "<where>: <secret> in <spelling>" for each needle in `haystack`. */
function hitsIn(where: string, haystack: string | Buffer, needles: Needle[]): string[] {
  const bytes = typeof haystack === "string" ? Buffer.from(haystack, "utf8") : haystack;
  return needles.filter((needle) => bytes.includes(needle.bytes)).map((needle) => `${where}: ${needle.label}`);
}

interface Scan {
  hits: string[];
  /** The places that held a value: a scan of nothing finds nothing. */
  seen: Set<string>;
}

/** Every column of every table of the public schema: bytea read as its bytes, any other type as its text (a citext, enum, array or jsonb holds text too). */
async function scanDatabase(url: string, needles: Needle[]): Promise<Scan> {
  return withClient(url, async (client) => {
    const { rows: columns } = await client.query<{ table: string; column: string; type: string }>(
      `SELECT c.table_name AS "table", c.column_name AS "column", c.data_type AS "type"
         FROM information_schema.columns c JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
        WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' ORDER BY c.table_name, c.ordinal_position`,
    );
    const scan: Scan = { hits: [], seen: new Set() };
    for (const table of new Set(columns.map((c) => c.table))) {
      const own = columns.filter((c) => c.table === table);
      const select = own.map((c) => (c.type === "bytea" ? quoteIdent(c.column) : `${quoteIdent(c.column)}::text`)).join(", ");
      const { rows } = await client.query<unknown[]>({ text: `SELECT ${select} FROM public.${quoteIdent(table)}`, rowMode: "array" });
      rows.forEach((row, index) =>
        own.forEach((c, i) => {
          const value = row[i] as string | Buffer | null;
          if (value === null) return;
          scan.seen.add(`${table}.${c.column}`);
          scan.hits.push(...hitsIn(`database ${table}.${c.column} (row ${index})`, value, needles));
        }),
      );
    }
    return scan;
  });
}

/** Every Redis key under `prefixes`, whatever its type, as raw bytes: BullMQ's job hashes (data, return values, failure reasons), event streams, lists and sets. */
async function scanRedis(prefixes: string[], needles: Needle[]): Promise<Scan> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const scan: Scan = { hits: [], seen: new Set() };
  const values = async (key: string): Promise<[string, Buffer][]> => {
    const type = await redis.type(key);
    if (type === "hash") return Object.entries(await redis.hgetallBuffer(key));
    if (type === "string") return [["", (await redis.getBuffer(key)) ?? Buffer.alloc(0)]];
    if (type === "list") return (await redis.lrangeBuffer(key, 0, -1)).map((v, i) => [`[${i}]`, v]);
    if (type === "set") return (await redis.smembersBuffer(key)).map((v) => ["member", v]);
    if (type === "zset") return (await redis.zrangeBuffer(key, "0", "-1")).map((v) => ["member", v]);
    if (type === "stream") return (await redis.xrangeBuffer(key, "-", "+")).map(([id, fields]) => [id.toString(), Buffer.concat(fields.flatMap((f) => [f, Buffer.from(" ")]))]);
    if (type === "none") return [];
    throw new Error(`Redis key ${key} is a ${type}: the scan does not read that type`);
  };
  try {
    for (const prefix of prefixes) {
      for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 1000 }) as AsyncIterable<string[]>) {
        for (const key of keys) {
          scan.seen.add(key);
          for (const [field, value] of await values(key)) scan.hits.push(...hitsIn(`redis ${key} ${field}`.trimEnd(), value, needles));
        }
      }
    }
  } finally {
    redis.disconnect();
  }
  return scan;
}

const scanLog = (lines: Record<string, unknown>[], needles: Needle[]) => lines.flatMap((line, i) => hitsIn(`log line ${i} (${String(line.msg)})`, JSON.stringify(line), needles));
const scanAnswers = (needles: Needle[]) => answers.flatMap((answer, i) => hitsIn(`GraphQL answer ${i} (${answer.operation})`, answer.body, needles));
/** The BullMQ queues of the run: their keys are `<QUEUE_PREFIX>:<queue>:…`. */
const queuesOf = (keys: Set<string>) => {
  const prefix = `${h.t.app.config.QUEUE_PREFIX}:`;
  return new Set([...keys].filter((key) => key.startsWith(prefix)).map((key) => key.slice(prefix.length).split(":")[0]));
};
const scanStores = async (needles: Needle[]) => {
  const [database, redis] = await Promise.all([scanDatabase(h.t.databaseUrl, needles), scanRedis([`${h.t.app.config.QUEUE_PREFIX}:`, h.t.redisPrefix], needles)]);
  return { database, redis };
};

// ---------------------------------------------------------------- the tests

it("the scanner finds a planted secret in a text, varchar, jsonb and bytea column, a queue's job, a log line and an answer", async () => {
  const canary = credential("canary");
  const needles = needlesOf({ canary });
  const bytes = Buffer.from(canary, "utf8");
  const job = `${h.t.app.config.QUEUE_PREFIX}:user-events:scan-canary`;
  await withClient(h.t.databaseUrl, async (client) => {
    await client.query("CREATE TABLE scan_canary (note text, hexed varchar(400), doc jsonb, blob bytea)");
    // base64 at an odd offset inside a longer value, raw bytes between others.
    await client.query("INSERT INTO scan_canary VALUES ($1, $2, $3, $4)", [`before ${canary} after`, bytes.toString("hex"), { wrapped: Buffer.concat([randomBytes(7), bytes, randomBytes(5)]).toString("base64") }, Buffer.concat([randomBytes(9), bytes, randomBytes(3)])]);
  });
  const redis = new Redis(REDIS_URL);
  await redis.hset(job, "data", JSON.stringify({ deep: { value: canary } }), "name", "scan-canary");
  try {
    const { database, redis: queues } = await scanStores(needles);
    // The planted table alone (base64url matches too when the base64 has no + or /).
    expect(database.hits.filter((hit) => !hit.startsWith("database scan_canary."))).toEqual([]);
    expect(database.hits).toEqual(
      expect.arrayContaining([
        "database scan_canary.blob (row 0): canary in clear",
        "database scan_canary.doc (row 0): canary in base64 (+1)",
        "database scan_canary.hexed (row 0): canary in hex",
        "database scan_canary.note (row 0): canary in clear",
      ]),
    );
    expect(queues.hits).toEqual([`redis ${job} data: canary in clear`]);
  } finally {
    await withClient(h.t.databaseUrl, (client) => client.query("DROP TABLE scan_canary"));
    await redis.del(job);
    redis.disconnect();
  }
  const lines = h.t.logs();
  expect(scanLog([...lines, { msg: "planted", detail: canary }], needles)).toEqual([`log line ${lines.length} (planted): canary in clear`]);
  answers.push({ operation: "Planted", body: JSON.stringify({ data: { value: canary } }) });
  try {
    expect(scanAnswers(needles)).toEqual([`GraphQL answer ${answers.length - 1} (Planted): canary in clear`]);
  } finally {
    answers.pop();
  }
});

it("a whole life of trading accounts leaves no API key, API secret, request or access token in clear in the database, the queues, the log or any answer", async () => {
  const admin = await h.withRole("admin");
  const [owner, trader, viewer, otherOwner] = await Promise.all([h.signedIn(), h.signedIn(), h.signedIn(), h.signedIn()]);
  const linkWith = (user: SignedIn, app: FakeKiteApp, apiSecret = app.apiSecret) =>
    h.gql(LinkTradingAccountDocument, { input: { broker: "KITE" as never, apiKey: app.apiKey, apiSecret, requestToken: login(app), nickname: "Main" } }, user.headers);

  // Linking: a wrong secret first (nothing stored), then the right one; another owner's account stays linked to the end.
  expect((await linkWith(owner, first, wrongSecrets.link)).errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", fields: [{ field: "input.apiSecret" }] });
  const id = (await linkWith(owner, first)).data?.linkTradingAccount.id as string;
  expect(id).toEqual(expect.any(String));
  expect((await linkWith(otherOwner, other)).data?.linkTradingAccount.status).toBe("ACTIVE");
  expect((await h.gql(MyTradingAccountsDocument, {}, owner.headers)).data?.myTradingAccounts.map((a) => a.id)).toEqual([id]);
  expect((await h.gql(TradingAccountDocument, { id }, owner.headers)).data?.tradingAccount.role).toBe("OWNER");
  expect((await h.gql(VerifyTradingAccountDocument, { id }, owner.headers)).data?.verifyTradingAccount.status).toBe("ACTIVE");

  // The daily expiry, then a renewal with a new login.
  const { sessionExpiresAt } = (await h.gql(TradingAccountStatusDocument, { id }, owner.headers)).data?.tradingAccountStatus ?? {};
  h.clock.offsetMs = new Date(sessionExpiresAt as string).getTime() - Date.now() + 1000;
  expect(await h.t.app.modules["trading-accounts"].api.expireSessions()).toBeGreaterThanOrEqual(1);
  h.clock.offsetMs = 0;
  expect((await h.gql(TradingAccountStatusDocument, { id }, owner.headers)).data?.tradingAccountStatus.status).toBe("REAUTH_REQUIRED");
  await h.mailTo(owner.email, "trading-account-reauth");
  expect((await h.gql(RenewTradingAccountSessionDocument, { id, requestToken: login(first) }, owner.headers)).data?.renewTradingAccountSession.status).toBe("ACTIVE");

  // Rotation to the same Kite user's second app: a wrong secret fails, the right one replaces key and secret.
  const rotate = (apiSecret: string) => h.gql(RotateTradingAccountCredentialsDocument, { id, input: { apiKey: rotated.apiKey, apiSecret, requestToken: login(rotated) } }, owner.headers);
  expect((await rotate(wrongSecrets.rotation)).errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", fields: [{ field: "input.apiSecret" }] });
  expect((await rotate(rotated.apiSecret)).data?.rotateTradingAccountCredentials.status).toBe("ACTIVE");

  // Sharing, the permission check, a rename and the member's own default.
  await h.gql(ShareTradingAccountDocument, { id, input: { email: trader.email, role: "TRADER" as never } }, owner.headers);
  expect((await h.gql(ShareTradingAccountDocument, { id, input: { email: viewer.email, role: "VIEWER" as never } }, owner.headers)).data?.shareTradingAccount.members.map((m) => m.role)).toEqual(["OWNER", "TRADER", "VIEWER"]);
  const place = async (user: SignedIn) => (await h.gql(CheckPermissionDocument, { input: { permission: "trading:orders:place", resource: { type: "trading_account", id } } }, user.headers)).data?.checkPermission;
  // Nobody here has an approved identity verification: the built-in policy denies even the owner.
  expect([await place(owner), await place(trader), await place(viewer)]).toEqual([
    { allowed: false, reason: "policy orders-need-verified-identity denies" },
    { allowed: false, reason: "policy orders-need-verified-identity denies" },
    expect.objectContaining({ allowed: false }),
  ]);
  expect((await h.gql(UpdateTradingAccountDocument, { id, input: { nickname: "Renamed", isDefault: true } }, owner.headers)).data?.updateTradingAccount).toMatchObject({ nickname: "Renamed", isDefault: true });
  expect((await h.gql(UpdateTradingAccountDocument, { id, input: { isDefault: true } }, trader.headers)).data?.updateTradingAccount.isDefault).toBe(true);
  expect((await h.gql(TradingAccountDocument, { id }, viewer.headers)).data?.tradingAccount.role).toBe("VIEWER");

  // The broker session for an order service: an answer that holds the key and token by design, so
  // it goes through the unrecorded client and is kept out of the scanned answers.
  const created = (await h.gql(CreateServiceClientDocument, { input: { name: "orders", scopes: ["trading_accounts:session"] } }, admin.headers)).data?.createServiceClient;
  const form = new URLSearchParams({ grant_type: "client_credentials", client_id: created?.client.clientId as string, client_secret: created?.clientSecret as string });
  const serviceToken = ((await (await fetch(`${h.t.baseUrl}/oauth/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: form.toString() })).json()) as { access_token: string }).access_token;
  const session = await unrecordedGql(TradingAccountSessionDocument, { id }, { authorization: `Bearer ${serviceToken}` });
  expect(session.data?.tradingAccountSession.apiKey).toBe(rotated.apiKey);
  await h.auditedAtLeast(1, { action: "trading_account.session_read", subjectId: id });

  const exports = { owner: await h.t.app.modules.users.api.personalData.export(owner.user.id), trader: await h.t.app.modules.users.api.personalData.export(trader.user.id) };
  expect(exports.owner["trading-accounts"]).toMatchObject({ accounts: [expect.objectContaining({ id })] });

  // The stores while the account's sealed credentials are still there; after unlinking, again.
  await h.queues.waitFor("user-events", (job) => job.name === "trading_account.member_added");
  const secrets = () => ({
    ...Object.fromEntries(
      Object.entries({ first, rotated, other }).flatMap(([name, app]) => [
        [`${name} apiKey`, app.apiKey],
        [`${name} apiSecret`, app.apiSecret],
      ]),
    ),
    "wrong apiSecret of the failed link": wrongSecrets.link,
    "wrong apiSecret of the failed rotation": wrongSecrets.rotation,
    ...Object.fromEntries(requestTokens.map((token, i) => [`request token ${i}`, token])),
    ...Object.fromEntries([...kite.sessions.values()].map((s, i) => [`access token ${i} (of ${s.apiKey === other.apiKey ? "other" : s.apiKey === first.apiKey ? "first" : "rotated"})`, s.accessToken])),
  });
  const midway = await scanStores(needlesOf(secrets()));
  for (const column of ["trading_accounts.api_key_enc", "trading_accounts.api_secret_enc", "trading_accounts.access_token_enc", "trading_account_keys.key_enc", "outbox_events.payload", "audit_events.metadata"]) expect([column, midway.database.seen.has(column)]).toEqual([column, true]);

  // Unlinking while Kite is down keeps the account; then it goes.
  await kite.down();
  try {
    expect(codeOf(await h.gql(UnlinkTradingAccountDocument, { id }, owner.headers))).toBe("BROKER_UNAVAILABLE");
  } finally {
    await kite.up();
  }
  expect((await h.gql(UnlinkTradingAccountDocument, { id }, owner.headers)).data?.unlinkTradingAccount).toBe(true);
  await h.queues.waitFor("user-events", (job) => job.name === "trading_account.unlinked");
  await h.auditedAtLeast(1, { action: "trading_account.unlink", subjectId: id });

  const all = secrets();
  // 3 apps' keys and secrets, 2 wrong secrets, 6 logins, a session for each of the 4 that succeeded.
  expect(Object.keys(all)).toHaveLength(6 + 2 + 6 + 4);
  const needles = needlesOf(all);
  const end = await scanStores(needles);
  expect([...queuesOf(end.redis.seen)]).toEqual(expect.arrayContaining(["user-events", "notifications", "identity-jobs"]));
  // The proof that the answer scan sees credentials: the one answer that holds them by design.
  expect(hitsIn("the service session", JSON.stringify(session.data), needles)).toEqual(expect.arrayContaining([expect.stringMatching(/: rotated apiKey in clear$/), expect.stringMatching(/: access token \d+ \(of rotated\) in clear$/)]));
  const hits = [
    ...[midway, end].flatMap((scan, i) => [...scan.database.hits, ...scan.redis.hits].map((hit) => `${i === 0 ? "before unlink" : "at the end"}: ${hit}`)),
    ...scanLog(h.t.logs(), needles),
    ...scanAnswers(needles),
    ...Object.entries(exports).flatMap(([whose, data]) => hitsIn(`personal data export of the ${whose}`, JSON.stringify(data), needles)),
  ];
  expect(hits).toEqual([]);
}, 120_000);
