import { decodeProtectedHeader } from "jose";
import { open, seal } from "../../src/platform/crypto/aead";
import { createKeyVault } from "../../src/platform/crypto/create-vault";
import { AccessTokens } from "../../src/platform/jwt/access-tokens";
import { KeyStore } from "../../src/platform/jwt/keys";
import { startTestApp, type TestApp } from "../support/app";
import { createApp } from "../../src/app";
import { loadConfig } from "../../src/config";
import { createLogger } from "../../src/platform/logging/logger";
import { PASSWORD, TEST_ENV, bearer, fromNewIp, newEmail, useApp } from "../support/harness";
import { movableClock } from "../support/clock";
import { dropDatabase, withClient } from "../support/db";
import { REDIS_URL, uniqueSuffix } from "../support/env";
import { LoginDocument, MeDocument } from "../support/generated/operations";
import { graphql } from "../support/graphql";
import { runCliTool } from "../support/process";
import { waitUntil } from "../support/wait";

const KEY = Buffer.alloc(32, 3);
const clock = { now: () => new Date() };

describe("signing keys", () => {
  it("SECURITY 58: after rotation new tokens use the new kid, tokens of the old kid stay valid, both are published", async () => {
    const t = await startTestApp({ OUTBOX_RELAY: "false" });
    try {
      const prisma = t.app.platform.database.prisma;
      const keys = new KeyStore(prisma, createKeyVault(t.app.config), "ES256", 900_000, clock, 60_000);
      await keys.init();
      const tokens = new AccessTokens(keys, { issuer: "https://id.example.test", audience: "identity-platform", ttlSeconds: 900 }, clock);
      const before = await tokens.issue({ userId: "u1", sessionId: "s1", roles: [], amr: ["pwd"], authTime: 0 });
      const kid = await keys.rotate();
      const after = await tokens.issue({ userId: "u1", sessionId: "s1", roles: [], amr: ["pwd"], authTime: 0 });
      expect(decodeProtectedHeader(after).kid).toBe(kid);
      expect(decodeProtectedHeader(before).kid).not.toBe(kid);
      await expect(tokens.verify(before)).resolves.toMatchObject({ userId: "u1" });
      expect(keys.jwks().keys.map((k) => k.kid)).toEqual(expect.arrayContaining([kid, decodeProtectedHeader(before).kid]));
      // Private halves are stored sealed, never as a JWK with "d" in the clear.
      const rows = await withClient(t.databaseUrl, (c) => c.query<{ private_key_enc: string }>("SELECT private_key_enc FROM signing_keys"));
      for (const row of rows.rows) expect(row.private_key_enc).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
      // Without the master key a database dump does not open the private keys.
      await expect(new KeyStore(prisma, createKeyVault(loadConfig({ KEY_ENCRYPTION_KEY: KEY.toString("base64") })), "ES256", 900_000, clock, 60_000).init()).rejects.toThrow("Unsupported state or unable to authenticate data");
    } finally {
      await t.stop();
    }
  });
});

describe("AES-256-GCM", () => {
  it("SECURITY 55: a fresh IV per message; a flipped bit, a truncated tag or another AAD fails closed", () => {
    const a = seal(KEY, "secret", "row-1");
    const b = seal(KEY, "secret", "row-1");
    expect(a.split(".")[1]).not.toBe(b.split(".")[1]);
    expect(open(KEY, a, "row-1")).toBe("secret");
    const [v, iv, body, tag] = a.split(".") as [string, string, string, string];
    const flipped = Buffer.from(body, "base64url");
    flipped[0] = (flipped[0] as number) ^ 1;
    expect(() => open(KEY, [v, iv, flipped.toString("base64url"), tag].join("."), "row-1")).toThrow();
    expect(() => open(KEY, [v, iv, body, Buffer.from(tag, "base64url").subarray(0, 12).toString("base64url")].join("."), "row-1")).toThrow("truncated tag");
    expect(() => open(KEY, a, "row-2")).toThrow();
  });

  it("signs with RS256 or EdDSA when configured, publishes the matching JWK, and pins each key's own algorithm", async () => {
    const t = await startTestApp({ OUTBOX_RELAY: "false", JWT_ALGORITHM: "RS256" });
    try {
      const prisma = t.app.platform.database.prisma;
      const options = { issuer: "https://id.example.test", audience: "identity-platform", ttlSeconds: 900 };
      const rsa = new KeyStore(prisma, createKeyVault(t.app.config), "RS256", 900_000, clock, 60_000);
      await rsa.init();
      const rsaToken = await new AccessTokens(rsa, options, clock).issue({ userId: "u1", sessionId: "s1", roles: [], amr: ["pwd"], authTime: 0 });
      expect(decodeProtectedHeader(rsaToken)).toMatchObject({ alg: "RS256", typ: "at+jwt" });
      const ed = new KeyStore(prisma, createKeyVault(t.app.config), "EdDSA", 900_000, clock, 60_000);
      await ed.init();
      await ed.rotate();
      const edTokens = new AccessTokens(ed, options, clock);
      const edToken = await edTokens.issue({ userId: "u2", sessionId: "s2", roles: [], amr: ["pwd"], authTime: 0 });
      expect(decodeProtectedHeader(edToken)).toMatchObject({ alg: "EdDSA" });
      await expect(edTokens.verify(edToken)).resolves.toMatchObject({ userId: "u2" });
      // The RSA token signed before the rotation still verifies, by its kid and that key's algorithm.
      await expect(edTokens.verify(rsaToken)).resolves.toMatchObject({ userId: "u1" });
      expect(ed.jwks().keys.map((k) => [k.kty, k.alg ?? null, k.crv ?? null]).sort()).toEqual([
        ["OKP", "EdDSA", "Ed25519"],
        ["RSA", "RS256", null],
      ]);
      // A token whose header names another algorithm than its key's is refused.
      const [, payload, signature] = rsaToken.split(".") as [string, string, string];
      const header = Buffer.from(JSON.stringify({ ...decodeProtectedHeader(rsaToken), alg: "PS256" })).toString("base64url");
      await expect(edTokens.verify(`${header}.${payload}.${signature}`)).rejects.toThrow();
    } finally {
      await t.stop();
    }
  });

  it("a start that fails midway (signing keys sealed under another master key) closes what it opened", async () => {
    const t = await startTestApp({ OUTBOX_RELAY: "false", KEY_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString("base64") });
    const databaseUrl = t.databaseUrl;
    await t.app.stop();
    try {
      const config = loadConfig({ NODE_ENV: "test", LOG_LEVEL: "silent", REDIS_URL, DATABASE_URL: databaseUrl, KEY_ENCRYPTION_KEY: Buffer.alloc(32, 2).toString("base64") });
      await expect(createApp(config, { logger: createLogger({ level: "silent" }), redisPrefix: `test:${uniqueSuffix()}:` })).rejects.toThrow("Unsupported state or unable to authenticate data");
      const open = await withClient(databaseUrl, async (c) => (await c.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")).rows[0]?.n);
      expect(open).toBe(0);
    } finally {
      await dropDatabase(databaseUrl);
    }
  });
});

/** `npm run keys:rotate -- <args>` against the database at `databaseUrl`: its output, or its failure. */
const keysCli = (databaseUrl: string, ...args: string[]): Promise<string> => runCliTool("keys-rotate", databaseUrl, args);

const kidOf = (token: string) => decodeProtectedHeader(token).kid as string;
const published = async (t: TestApp) => ((await (await fetch(`${t.baseUrl}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
const me = (t: TestApp, token: string) => graphql(t.baseUrl, MeDocument, undefined, bearer(token));
/** The signing-key LISTEN connections on the database (one per running instance). */
const keyListeners = (t: TestApp, action = "pid") =>
  withClient(t.databaseUrl, async (c) => (await c.query(`SELECT ${action} FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%signing_keys%'`)).rowCount);

describe("signing keys on two running instances of one database", () => {
  // Reloads only on NOTIFY here: the periodic backstop is an hour away.
  const env = { JWT_KEYS_RELOAD_S: "3600" };
  let b: TestApp;
  // Registered before the harness's own afterAll, so it runs first: b shares a's database, which a.stop() drops.
  afterAll(() => b?.app.stop());
  const h = useApp(env);
  let a: TestApp;
  const email = newEmail();
  const login = async (t: TestApp) => {
    const res = await graphql(t.baseUrl, LoginDocument, { input: { email, password: PASSWORD } }, fromNewIp());
    if (res.data?.login.__typename !== "AuthPayload") throw new Error(`login failed: ${JSON.stringify(res.errors)}`);
    return res.data.login.accessToken;
  };
  beforeAll(async () => {
    a = h.t;
    b = await startTestApp({ ...TEST_ENV, ...env, QUEUE_PREFIX: a.app.config.QUEUE_PREFIX, DATABASE_URL: a.databaseUrl, OUTBOX_RELAY: "false" });
    await h.verifiedUser({ email });
  });

  it("issue 10 item 5: SECURITY 58: a keys:rotate is used and published by both instances at once, the previous key stays published, and tokens of either verify on both", async () => {
    const before = await login(a);
    const previous = kidOf(before);
    const kid = /^new current signing key (\S+) /.exec(await keysCli(a.databaseUrl))?.[1] as string;
    expect(kid).not.toBe(previous);
    for (const t of [a, b]) await waitUntil(`${t.baseUrl} to publish ${kid}`, async () => (await published(t)).includes(kid));
    for (const t of [a, b]) expect(await published(t)).toEqual(expect.arrayContaining([previous, kid]));
    const tokens = [before, await login(a), await login(b)];
    expect(tokens.slice(1).map(kidOf)).toEqual([kid, kid]);
    for (const token of tokens) for (const t of [a, b]) expect((await me(t, token)).data?.me?.email).toBe(email);
  });

  it("issue 10 item 5: SECURITY 58: keys:rotate --withdraw <kid> ends that key's tokens at once on both instances, remembered (verified before) or not, and a new key signs", async () => {
    const token = await login(a);
    const kid = kidOf(token);
    for (const t of [a, b]) expect((await me(t, token)).data?.me?.email).toBe(email);
    const second = await login(b); // never verified anywhere: not remembered
    expect(await keysCli(a.databaseUrl, "--withdraw", kid)).toMatch(new RegExp(`^withdrew signing key ${kid}; new current signing key \\S+ `));
    for (const t of [a, b]) {
      for (const refused of [token, second]) {
        await waitUntil(`${t.baseUrl} to refuse a token of ${kid}`, async () => (await me(t, refused)).errors?.[0]?.extensions?.code === "UNAUTHENTICATED");
      }
      expect(await published(t)).not.toContain(kid);
    }
    const fresh = await login(b);
    expect(kidOf(fresh)).not.toBe(kid);
    expect((await me(a, fresh)).data?.me?.email).toBe(email);
    // An unknown kid is refused, and nothing changes.
    const keys = await published(a);
    await expect(keysCli(a.databaseUrl, "--withdraw", "no-such-kid")).rejects.toMatchObject({ code: 1, stderr: "keys:rotate: no signing key no-such-kid\n" });
    expect(await published(a)).toEqual(keys);
  });

  it("issue 10 item 5: SECURITY 58: a lost LISTEN connection is opened again, and the next rotation still reaches both instances", async () => {
    expect(await keyListeners(a, "pg_terminate_backend(pid)")).toBe(2);
    await waitUntil("both instances to listen again", async () => (await keyListeners(a)) === 2);
    const kid = /^new current signing key (\S+) /.exec(await keysCli(a.databaseUrl))?.[1] as string;
    for (const t of [a, b]) await waitUntil(`${t.baseUrl} to publish ${kid}`, async () => (await published(t)).includes(kid));
    expect(kidOf(await login(b))).toBe(kid);
  });
});

describe("signing keys: the periodic reload and the retirement horizon", () => {
  it("issue 10 item 5: SECURITY 58: a change that sent no NOTIFY reaches a running instance by the periodic reload (JWT_KEYS_RELOAD_S)", async () => {
    const t = await startTestApp({ OUTBOX_RELAY: "false", JWT_KEYS_RELOAD_S: "1" });
    try {
      const [first] = await published(t);
      const kid = /^new current signing key (\S+) /.exec(await keysCli(t.databaseUrl))?.[1] as string;
      await waitUntil(`${kid} published`, async () => (await published(t)).includes(kid));
      // Removed behind the service's back: only a reload finds out.
      await withClient(t.databaseUrl, (c) => c.query("DELETE FROM signing_keys WHERE kid = $1", [first]));
      await waitUntil(`${first} no longer published`, async () => !(await published(t)).includes(first as string));
      expect(await published(t)).toEqual([kid]);
    } finally {
      await t.stop();
    }
  });

  it("issue 10 item 5: SECURITY 58: a retired key stays published until the last token an instance that heard of the rotation late signed with it has expired (ACCESS_TOKEN_TTL_S plus JWT_KEYS_RELOAD_S)", async () => {
    const t = await startTestApp({ OUTBOX_RELAY: "false" });
    try {
      const prisma = t.app.platform.database.prisma;
      const movable = movableClock();
      const ttlMs = 900_000;
      const reloadMs = 60_000;
      const store = () => new KeyStore(prisma, createKeyVault(t.app.config), "ES256", ttlMs, movable, reloadMs);
      const options = { issuer: "https://id.example.test", audience: "identity-platform", ttlSeconds: ttlMs / 1000 };
      const late = store();
      await late.init();
      const retired = late.signingKey().kid;
      await store().rotate();
      // `late` has not reloaded yet (its next periodic reload is due): it still signs with the retired key.
      movable.offsetMs = reloadMs - 1000;
      const token = await new AccessTokens(late, options, movable).issue({ userId: "u1", sessionId: "s1", roles: [], amr: ["pwd"], authTime: 0 });
      expect(kidOf(token)).toBe(retired);
      // An instance started just before that token expires still publishes and accepts its key (5 s
      // before: `exp` is whole seconds after `iat`, and a loaded machine takes a while to start the store).
      movable.offsetMs += ttlMs - 5000;
      const fresh = store();
      await fresh.init();
      expect(fresh.jwks().keys.map((k) => k.kid)).toContain(retired);
      await expect(new AccessTokens(fresh, options, movable).verify(token)).resolves.toMatchObject({ userId: "u1" });
      // Once no instance can have a valid token of it, it is no longer published.
      movable.offsetMs = ttlMs + reloadMs + 1000;
      await fresh.reload();
      expect(fresh.jwks().keys.map((k) => k.kid)).not.toContain(retired);
    } finally {
      await t.stop();
    }
  });
});
